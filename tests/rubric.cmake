# Rubrics as data, sheets from CSV, the one scoring function, and `ocop score`.
ocop_add_test(NAME ocop.rubric LABEL unit SOURCES unit/ocop/test_rubric.c LIBS ocop_common)
ocop_add_test(NAME ocop.score LABEL unit SOURCES unit/ocop/test_score.c LIBS ocop_common)
ocop_add_test(NAME ocop.sheetcsv LABEL unit SOURCES unit/ocop/test_sheetcsv.c LIBS ocop_common)
ocop_add_test(NAME score_cli LABEL integration SOURCES integration/test_score_cli.c LIBS ocop_common)
