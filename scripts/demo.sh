#!/usr/bin/env bash
# The demo: a provincial server and four sites on loopback doing one OCOP round.
#
#   - UBND xã Thành Thới (commune 86-28969 of Vĩnh Long) files a dossier offline;
#   - UBND xã Mỏ Cày (commune 86-28903) files one too, then, running an
#     out-of-date client, marks its own product recognised: a write without
#     authority that the server refuses and reverts everywhere;
#   - the provincial OCOP office (a province site) and Thành Thới edit the
#     same field offline: both converge and the losing value is in the ledger;
#   - the council sits: two sheets typed at the office from paper, one on
#     member 3's own laptop; the office reads the result and recognises 4★;
#   - every site syncs; the script prints the merged state, the ledger, the
#     rejection, the server's status and the province's report;
#   - every link runs over mutual TLS (tls+tcp://): the province and the nation
#     each make their own small CA (ocopd ca init), every site gets its
#     certificate in an enrolment file (ocopd site add --enrol-out) that it
#     takes with 'ocop enrol', and no secret is ever on a command line;
#   - the national tier: a national server and the national OCOP office; the
#     provincial server restarts with it as upstream; a second Thành Thới
#     dossier scores 94.33, the chair approves it, the province hands it to
#     the national server once, the central council recognises 5★ and the
#     decision comes down to the province and to Thành Thới.
#
# usage: scripts/demo.sh BIN_DIR   (the directory holding ocop, ocopd, ocop-rawwrite)
# Every process and temp file it starts is cleaned up on exit.
set -euo pipefail
bin="$(cd "${1:?usage: demo.sh BIN_DIR}" && pwd)"
repo="$(cd "$(dirname "$0")/.." && pwd)"
export OCOP_DATA_DIR="$repo/data"
work=$(mktemp -d "${TMPDIR:-/tmp}/ocop-demo-XXXXXX")
server_pid=""
nation_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$nation_pid" ]; then kill "$nation_pid" 2>/dev/null || true; wait "$nation_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
# The arguments, each quoted for a shell when it needs it, so an echoed command can be pasted.
shquote() {
  local a out=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s' "${out# }"
}
# Run ocop at a site, echoing the command (as run in the demo's directory).
at() {
  local site=$1; shift
  printf '[%s] $ ocop --db %s.db %s\n' "$site" "$site" "$(shquote "$@")" >&2
  OCOP_DB="$work/$site.db" OCOP_USER="$site" "$bin/ocop" "$@"
}
# Same, quietly, for commands whose output is an id.
id_at() {
  local site=$1; shift
  printf '[%s] $ ocop --db %s.db %s\n' "$site" "$site" "$(shquote "$@")" >&2
  OCOP_DB="$work/$site.db" OCOP_USER="$site" "$bin/ocop" "$@" | head -n 1
}

# A small real PDF (one page, its title in Helvetica), with a correct cross-reference table.
make_pdf() { # OUT TITLE (ASCII)
  local LC_ALL=C out=$1 title=$2 pdf stream xref i
  local -a obj off
  stream="BT /F1 16 Tf 72 720 Td ($title) Tj ET"
  obj[1]="<< /Type /Catalog /Pages 2 0 R >>"
  obj[2]="<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
  obj[3]="<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
  obj[4]="<< /Length ${#stream} >>"$'\n'"stream"$'\n'"$stream"$'\n'"endstream"
  obj[5]="<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
  pdf="%PDF-1.4"$'\n'
  for i in 1 2 3 4 5; do off[$i]=${#pdf}; pdf+="$i 0 obj"$'\n'"${obj[$i]}"$'\n'"endobj"$'\n'; done
  xref=${#pdf}
  pdf+="xref"$'\n'"0 6"$'\n'"0000000000 65535 f "$'\n'
  for i in 1 2 3 4 5; do pdf+="$(printf '%010d 00000 n ' "${off[$i]}")"$'\n'; done
  pdf+="trailer"$'\n'"<< /Size 6 /Root 1 0 R >>"$'\n'"startxref"$'\n'"$xref"$'\n'"%%EOF"$'\n'
  printf '%s' "$pdf" >"$out"
}
# A photo of the product's label: a 320x240 colour image (PPM), its pixels from the seed.
make_photo() { # OUT
  { printf 'P6\n320 240\n255\n'; head -c $((320 * 240 * 3)) /dev/urandom; } >"$1"
}

port=$((20000 + RANDOM % 20000))
url="tls+tcp://127.0.0.1:$port"

say "Provincial server (Vĩnh Long, province code 86) on $url, with its own CA"
"$bin/ocopd" init --db "$work/province.db" --role province --scope 86 >/dev/null
"$bin/ocopd" ca init --db "$work/province.db" --dir "$work/ca-province" --host 127.0.0.1,localhost \
  --url "$url" --name "OCOP CA tỉnh Vĩnh Long"
declare -A site_id
# Register a site at a server and enrol its laptop: the secrets travel in a
# 0600 file, never on a command line, and the file is removed once taken.
register_at() { # server_db name role scope label
  local out
  out=$("$bin/ocopd" site add --db "$1" --role "$3" --scope "$4" --name "$5" --enrol-out "$work/$2.enrol")
  site_id[$2]=$(awk '/^site_id/ {print $2}' <<<"$out")
  OCOP_DB="$work/$2.db" "$bin/ocop" enrol --file "$work/$2.enrol" >/dev/null
  rm -f "$work/$2.enrol"
  printf '  registered %-14s %-8s scope %-9s %s\n' "$2" "$3" "$4" "$5"
}
register() { register_at "$work/province.db" "$@"; }
register thanhthoi commune 86-28969 "UBND xã Thành Thới"
register mocay commune 86-28903 "UBND xã Mỏ Cày"
register office province 86 "Văn phòng điều phối OCOP tỉnh"
register member3 member 86 "Thành viên hội đồng 3 (máy riêng)"
"$bin/ocopd" serve --db "$work/province.db" --listen "$url" 2>"$work/ocopd.log" &
server_pid=$!
for _ in $(seq 50); do grep -q listening "$work/ocopd.log" 2>/dev/null && break; sleep 0.1; done

say "Thành Thới, offline: a cooperative, its product, a dossier and its evidence"
subj=$(id_at thanhthoi subject add --name "HTX Bưởi da xanh Thành Thới" --kind htx --unit 86-28969 \
  --rep-name "Chủ nhiệm HTX" --rep-gender female --phone "0275 3861 000")
prod=$(id_at thanhthoi product add --subject "$subj" --name "Bưởi da xanh" --set 01)
dos=$(id_at thanhthoi dossier add --product "$prod" --year 2026 --round 1)
id_at thanhthoi document add --dossier "$dos" --kind mau01 --title "Phiếu đăng ký (Mẫu 01)" >/dev/null
make_pdf "$work/mau02-buoi.pdf" "Bao cao tu danh gia (Mau 02) - Buoi da xanh Thanh Thoi"
make_photo "$work/nhan-buoi.ppm"
echo "  the clerk scans the self-assessment report and photographs the label (files travel with the dossier):"
doc_mau02=$(id_at thanhthoi document add --dossier "$dos" --kind mau02 --title "Báo cáo tự đánh giá (Mẫu 02)" \
  --file "$work/mau02-buoi.pdf")
id_at thanhthoi document add --dossier "$dos" --kind label_photo --title "Ảnh nhãn sản phẩm" \
  --file "$work/nhan-buoi.ppm" >/dev/null
at thanhthoi document list --dossier "$dos"
id_at thanhthoi document add --dossier "$dos" --kind commune_report --title "Báo cáo đánh giá (Mẫu 03)" >/dev/null
at thanhthoi dossier move "$dos" --to commune_check
at thanhthoi dossier move "$dos" --to province_review

say "Mỏ Cày, offline: its own dossier"
subj2=$(id_at mocay subject add --name "Cơ sở Kẹo dừa Mỏ Cày" --kind ho --unit 86-28903)
prod2=$(id_at mocay product add --subject "$subj2" --name "Kẹo dừa sáp" --set 07)
dos2=$(id_at mocay dossier add --product "$prod2" --year 2026 --round 1)

say "Everyone syncs"
for s in thanhthoi mocay office member3; do at $s sync; done
echo "  the office received the dossier's files (last column), Mỏ Cày none of them:"
at office document list --dossier "$dos"
at office document get "$doc_mau02" --out "$work/office-mau02.pdf" >/dev/null
cmp -s "$work/office-mau02.pdf" "$work/mau02-buoi.pdf" && echo "  office-mau02.pdf is byte for byte the scan Thành Thới attached"
echo "  Mỏ Cày holds $(find "$work/mocay.db.files/objects" -type f | wc -l) evidence files"

say "Concurrent edit, offline: the office and Thành Thới both correct the cooperative's phone"
at office subject set "$subj" --phone "0275 3861 111"
sleep 0.05
at thanhthoi subject set "$subj" --phone "0275 3861 222"

say "A write without authority: Mỏ Cày marks its own dossier recognised"
at mocay dossier move "$dos2" --to recognised || echo "  (refused locally, as it should be)"
echo "  ... an out-of-date client at Mỏ Cày does not check, and writes it anyway:"
"$bin/ocop-rawwrite" "$work/mocay.db" dossier "$dos2" status recognised
echo "  Mỏ Cày now shows: $(OCOP_DB=$work/mocay.db "$bin/ocop" dossier show "$dos2" | awk '$1 == "status:" {print $2}')"
echo "  ... and a tampered laptop at Mỏ Cày sends a hand-made change to Thành Thới's cooperative, not its own:"
"$bin/ocop-rawwrite" --raw "$work/mocay.db" subject "$subj" "name=HTX Mỏ Cày" >/dev/null

say "Everyone syncs (twice, so every site also gets what the others pushed)"
for round in 1 2; do for s in thanhthoi mocay office member3; do at $s sync; done; done

say "The province sends Thành Thới's dossier back for completion; Thành Thới completes it and sends it again"
at office dossier move "$dos" --to update_requested --note "Bổ sung phiếu kết quả kiểm nghiệm" --deadline 2026-06-01
at office sync
at thanhthoi sync
echo "  Thành Thới now shows: $(OCOP_DB=$work/thanhthoi.db "$bin/ocop" dossier show "$dos" | awk '$1 == "status:" {print $2}')"
id_at thanhthoi document add --dossier "$dos" --kind test_report --title "Phiếu kết quả kiểm nghiệm" >/dev/null
at thanhthoi dossier move "$dos" --to province_review
at thanhthoi sync
at office sync
echo "  the office now shows: $(OCOP_DB=$work/office.db "$bin/ocop" dossier show "$dos" | awk '$1 == "status:" || $1 == "epoch:" {printf "%s %s  ", $1, $2}')"

say "The provincial council sits on Thành Thới's dossier"
at office dossier move "$dos" --to council_review
ev=$(id_at office evaluation add --dossier "$dos" --tier province --held 2026-06-10)
id_at office member add --evaluation "$ev" --name "Chủ tịch hội đồng" --role chair >/dev/null
id_at office member add --evaluation "$ev" --name "Thành viên 2" >/dev/null
id_at office member add --evaluation "$ev" --name "Thành viên 3" --site "${site_id[member3]}" >/dev/null
at office sheet import --evaluation "$ev" --csv "$repo/data/demo/sheets-province.csv"
at office sync
at member3 sync
at member3 sheet import --evaluation "$ev" --csv "$repo/data/demo/sheets-member3.csv"
at member3 sync
at office sync
at office result "$ev"
at office dossier move "$dos" --to scored
id_at office decision add --dossier "$dos" --kind recognition --evaluation "$ev" \
  --number "1234/QĐ-UBND" --issued 2026-06-30 --issuer "UBND tỉnh Vĩnh Long" >/dev/null
at office dossier move "$dos" --to recognised

say "Everyone syncs"
for round in 1 2; do for s in office thanhthoi mocay member3; do at $s sync; done; done

say "Merged state: the same at every site"
for s in thanhthoi office member3; do
  printf '  %-10s dossier %s  phone %s\n' "$s" \
    "$(OCOP_DB=$work/$s.db "$bin/ocop" dossier show "$dos" | awk '$1 == "status:" {print $2}')" \
    "$(OCOP_DB=$work/$s.db "$bin/ocop" subject show "$subj" | awk -F': *' '/^phone/ {print $2}')"
done
for s in mocay office; do
  printf '  %-10s Mỏ Cày dossier %s\n' "$s" "$(OCOP_DB=$work/$s.db "$bin/ocop" dossier show "$dos2" | awk '$1 == "status:" {print $2}')"
done

say "The conflict ledger (concurrent edit) at Thành Thới"
at thanhthoi conflicts --all

say "The rejection, as Mỏ Cày sees it"
at mocay conflicts
at mocay status

say "The server"
"$bin/ocopd" status --db "$work/province.db"

say "The province brings in its communes, former districts and earlier rounds"
at office unit import "$repo/data/units/import/86-vinh-long.csv"
at office history import "$repo/data/demo/history-vinh-long.csv"
at office sync

say "The province's report: the round and its history, as published"
at office report --today 2026-07-01
at office report --today 2026-07-01 --level district --table by_unit
at office report --today 2026-07-01 --level province --current --table by_unit
at office report --today 2026-07-01 --xlsx "$work/bao-cao-ocop.xlsx"
echo "  wrote bao-cao-ocop.xlsx ($(wc -c <"$work/bao-cao-ocop.xlsx") bytes, one sheet per table)"

# ===== The national tier (docs/NATIONAL.md) =====

say "The national tier: a national server (scope VN) with its own CA, and the national OCOP office"
nport=$((port + 1))
nurl="tls+tcp://127.0.0.1:$nport"
"$bin/ocopd" init --db "$work/nation.db" --role national --scope VN >/dev/null
"$bin/ocopd" ca init --db "$work/nation.db" --dir "$work/ca-nation" --host 127.0.0.1,localhost \
  --url "$nurl" --name "OCOP CA trung ương"
prov_site=$("$bin/ocopd" status --db "$work/province.db" --json | awk -F'"' '/"site_id"/ {print $4; exit}')
# The province server is a site of the national server: its enrolment (the
# nation's CA, a certificate naming the province server) stays a 0600 file
# that the province's config names.
"$bin/ocopd" site add --db "$work/nation.db" --role province --scope 86 --site-id "$prov_site" \
  --name "UBND tỉnh Vĩnh Long (máy chủ tỉnh)" --enrol-out "$work/province-at-nation.enrol" >/dev/null
register_at "$work/nation.db" nationaloffice national VN "Văn phòng OCOP trung ương"
echo "  registered the province server ($prov_site) and the national office at the national server"
"$bin/ocopd" serve --db "$work/nation.db" --role national --listen "$nurl" 2>"$work/nation.log" &
nation_pid=$!
for _ in $(seq 50); do grep -q listening "$work/nation.log" 2>/dev/null && break; sleep 0.1; done

say "The provincial server restarts with the national server as its upstream"
cat >"$work/province.conf" <<CONF
listen = $url
role = province
db = $work/province.db
upstream_enrolment = $work/province-at-nation.enrol
upstream_interval_ms = 300
CONF
kill -TERM "$server_pid"; wait "$server_pid"
"$bin/ocopd" serve --config "$work/province.conf" 2>>"$work/ocopd.log" &
server_pid=$!
for _ in $(seq 50); do [ "$(grep -c listening "$work/ocopd.log")" -ge 2 ] && break; sleep 0.1; done

say "Thành Thới files a second dossier; the provincial council scores it 94.33"
prod5=$(id_at thanhthoi product add --subject "$subj" --name "Bưởi da xanh hữu cơ" --set 01)
dos5=$(id_at thanhthoi dossier add --product "$prod5" --year 2026 --round 1)
id_at thanhthoi document add --dossier "$dos5" --kind mau01 --title "Phiếu đăng ký (Mẫu 01)" >/dev/null
make_pdf "$work/mau02-huuco.pdf" "Bao cao tu danh gia (Mau 02) - Buoi da xanh huu co"
make_photo "$work/nhan-huuco.ppm"
id_at thanhthoi document add --dossier "$dos5" --kind mau02 --title "Báo cáo tự đánh giá (Mẫu 02)" \
  --file "$work/mau02-huuco.pdf" >/dev/null
id_at thanhthoi document add --dossier "$dos5" --kind label_photo --title "Ảnh nhãn sản phẩm" \
  --file "$work/nhan-huuco.ppm" >/dev/null
id_at thanhthoi document add --dossier "$dos5" --kind commune_report --title "Báo cáo đánh giá (Mẫu 03)" >/dev/null
at thanhthoi dossier move "$dos5" --to commune_check
at thanhthoi dossier move "$dos5" --to province_review
at thanhthoi sync
at office sync
at office dossier move "$dos5" --to council_review
ev5=$(id_at office evaluation add --dossier "$dos5" --tier province --held 2026-06-11)
id_at office member add --evaluation "$ev5" --name "Chủ tịch hội đồng" --role chair >/dev/null
id_at office member add --evaluation "$ev5" --name "Thành viên 2" >/dev/null
id_at office member add --evaluation "$ev5" --name "Thành viên 3" >/dev/null
at office sheet import --evaluation "$ev5" --csv "$repo/data/demo/sheets-5star-province.csv"
at office result "$ev5" | grep -E "Mean|Star|5★"
at office dossier move "$dos5" --to scored
echo "  The chair of UBND tỉnh approves the potential 5★ result (Đ7.3):"
id_at office decision add --dossier "$dos5" --kind approval --evaluation "$ev5" \
  --number "2345/QĐ-UBND" --issued 2026-06-30 --issuer "UBND tỉnh Vĩnh Long" >/dev/null
at office dossier move "$dos5" --to potential_5star
at office sync

say "The provincial server hands the candidate to the national server, once"
for _ in $(seq 100); do
  "$bin/ocopd" candidates --db "$work/province.db" | grep -q "^acknowledged" && break; sleep 0.2
done
echo "  at the province:"; "$bin/ocopd" candidates --db "$work/province.db" | sed 's/^/    /'
echo "  at the nation:"; "$bin/ocopd" candidates --db "$work/nation.db" | sed 's/^/    /'

say "The central council sits at the national office and recognises 5★"
for _ in $(seq 100); do
  [ "$(find "$work/nation.db.files/objects" -type f 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.2
done
at nationaloffice sync
echo "  the candidate's evidence reached the nation (and nothing else: the national server holds" \
  "$(find "$work/nation.db.files/objects" -type f | wc -l) files):"
at nationaloffice document list --dossier "$dos5"
at nationaloffice dossier move "$dos5" --to national_review
ev6=$(id_at nationaloffice evaluation add --dossier "$dos5" --tier national --held 2026-09-10)
id_at nationaloffice member add --evaluation "$ev6" --name "Chủ tịch Hội đồng trung ương" --role chair >/dev/null
id_at nationaloffice member add --evaluation "$ev6" --name "Chuyên gia Bộ Công Thương" >/dev/null
id_at nationaloffice member add --evaluation "$ev6" --name "Chuyên gia Bộ Y tế" >/dev/null
at nationaloffice sheet import --evaluation "$ev6" --csv "$repo/data/demo/sheets-5star-national.csv"
at nationaloffice result "$ev6" | grep -E "Mean|Star"
id_at nationaloffice decision add --dossier "$dos5" --kind national_result --evaluation "$ev6" \
  --number "456/QĐ-BNNMT" --issued 2026-09-20 --issuer "Bộ Nông nghiệp và Môi trường" >/dev/null
at nationaloffice dossier move "$dos5" --to national_recognised
at nationaloffice sync

say "The national decision comes down to the province and to Thành Thới"
for _ in $(seq 100); do
  "$bin/ocopd" candidates --db "$work/province.db" | grep -q "^decided" && break; sleep 0.2
done
"$bin/ocopd" candidates --db "$work/province.db" | sed 's/^/  /'
at thanhthoi sync
printf '  thanhthoi  5★ dossier %s  national result %s\n' \
  "$(OCOP_DB=$work/thanhthoi.db "$bin/ocop" dossier show "$dos5" | awk '$1 == "status:" {print $2}')" \
  "$(OCOP_DB=$work/thanhthoi.db "$bin/ocop" decision list --dossier "$dos5" | awk '$2 == "national_result" {print $3, $NF, "expires", $5}')"
at office sync
at office report --today 2026-10-01 | grep -iE "5★|5 sao|potential|tiềm năng" | head -n 8 || true

say "Stopping the servers"
kill -TERM "$server_pid"; wait "$server_pid"; server_pid=""
tail -n 3 "$work/ocopd.log"
kill -TERM "$nation_pid"; wait "$nation_pid"; nation_pid=""
tail -n 1 "$work/nation.log"
echo "demo finished"
