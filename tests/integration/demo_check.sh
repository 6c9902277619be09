#!/usr/bin/env bash
# integration.demo: run scripts/demo.sh and check the facts it must show:
# the merged state is the same everywhere, the concurrent edit's loser is in
# the ledger, the write without authority was refused and reverted, the
# council's result is 4★, a 5★ candidate reached the national server once and
# its national decision came back to the province and to Thành Thới, the
# province's communes and earlier rounds were brought in and reported (by
# former district, by current province, as a workbook), echoed commands can be
# pasted, the evidence files (a PDF and a label photo) reached the office and,
# for the candidate, the nation and no other site, and the servers stopped cleanly.
set -euo pipefail
bin="${1:?usage: demo_check.sh BIN_DIR}"
out=$(bash "$(dirname "$0")/../../scripts/demo.sh" "$bin" 2>&1)
fail() { echo "demo check failed: $*"; echo "$out" | tail -n 60; exit 1; }
grep -q "thanhthoi  dossier recognised  phone 0275 3861 222" <<<"$out" || fail "Thành Thới's merged state"
grep -q "office     dossier recognised  phone 0275 3861 222" <<<"$out" || fail "the office's merged state"
grep -q "member3    dossier recognised  phone 0275 3861 222" <<<"$out" || fail "member 3's merged state"
grep -q "mocay      Mỏ Cày dossier draft" <<<"$out" || fail "the refused status was not reverted at Mỏ Cày"
grep -q "lww .*subject 'HTX Bưởi da xanh Thành Thới', phone: kept '0275 3861 222'  lost '0275 3861 111'" <<<"$out" || fail "ledger entry"
grep -q "workflow .*cannot move a dossier from 'draft' to 'recognised'" <<<"$out" || fail "rejection"
grep -q "Thành Thới now shows: update_requested" <<<"$out" || fail "the dossier sent back for completion at Thành Thới"
grep -q "the office now shows: status: province_review  epoch: 1" <<<"$out" || fail "the dossier sent again, in its new epoch"
grep -q "scope .*subject [0-9a-f]\{8\}: refused" <<<"$out" || fail "the tampered laptop's change refused (and nothing of the other commune's subject shown)"
grep -q "thanhthoi  dossier recognised" <<<"$out" || fail "Thành Thới's dossier"
grep -q "Star: 4★" <<<"$out" || fail "result"
grep -q "^    acknowledged .*Bưởi da xanh hữu cơ .*94.33 5★" <<<"$out" || fail "the province's hand-off of the 5★ candidate"
grep -q "^    received .*Bưởi da xanh hữu cơ" <<<"$out" || fail "the candidate at the national server"
[ "$(grep -c "^    received " <<<"$out")" = 1 ] || fail "the candidate reached the national server more than once"
grep -q "^  decided .*national_recognised" <<<"$out" || fail "the national decision at the province"
grep -q "thanhthoi  5★ dossier national_recognised  national result 5★ 456/QĐ-BNNMT expires 2029-09-20" <<<"$out" ||
  fail "the national decision at Thành Thới"
grep -q "subject add --name 'HTX Bưởi da xanh Thành Thới' --kind htx --unit 86-28969" <<<"$out" ||
  fail "echoed commands keep their quotes"
grep -q "imported 150 units from" <<<"$out" || fail "Vĩnh Long's communes and former districts"
grep -q "imported 6 results from" <<<"$out" || fail "the earlier rounds"
grep -qE "^  86 +Tỉnh Vĩnh Long +2 +3 +0 +5 *$" <<<"$out" || fail "the report by current province"
grep -qE "^  84-845 +Huyện Cầu Kè +0 +1 +0 +1 *$" <<<"$out" || fail "the report by former district"
grep -q "wrote bao-cao-ocop.xlsx" <<<"$out" || fail "the workbook"
grep -qE "mau02.*Báo cáo tự đánh giá \(Mẫu 02\)[[:space:]]+present" <<<"$out" || fail "the scan at the office"
grep -qE "label_photo.*Ảnh nhãn sản phẩm[[:space:]]+present" <<<"$out" || fail "the label photo at the office"
grep -q "office-mau02.pdf is byte for byte the scan" <<<"$out" || fail "the office's copy of the scan"
grep -q "Mỏ Cày holds 0 evidence files" <<<"$out" || fail "another commune received Thành Thới's files"
grep -q "national server holds 2 files" <<<"$out" || fail "the nation holds exactly the candidate's evidence"
[ "$(grep -cE "[[:space:]]present$" <<<"$out")" -ge 6 ] || fail "the files present at the commune, the office and the national office"
grep -q "shutting down" <<<"$out" || fail "clean server stop"
grep -q "demo finished" <<<"$out" || fail "did not finish"
echo "demo check: ok"
