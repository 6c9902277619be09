# Tests of the council side of a round: common/ocop/council.c, common/ocop/report.c and
# the `ocop` evaluation, member, sheet, result, decision and report commands.
ocop_add_test(NAME ocop.council LABEL unit SOURCES unit/ocop/test_council.c LIBS ocop_common)
ocop_add_test(NAME ocop.report LABEL unit SOURCES unit/ocop/test_report.c LIBS ocop_common)
ocop_add_test(NAME cli.round LABEL integration SOURCES integration/test_cli_round.c LIBS ocop_common)
