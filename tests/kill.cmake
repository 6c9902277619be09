# Real processes killed mid-sync (DESIGN.md section 6, invariant 5): ocopd and one
# `ocop sync --watch` per site under SIGKILL at seeded random moments while the sites
# write; then convergence, no lost or doubled change, and integrity_check everywhere.
# OCOP_KILL_CYCLES (default 30) and OCOP_KILL_SEED tune and replay a run.
ocop_add_test(NAME kill LABEL fault EXTRA_LABELS slow SOURCES fault/test_kill.c
  LIBS ocop_common TIMEOUT 900)
