# Rubrics as data, sheets from CSV, the one scoring function, and `ocop score`.
ocop_add_test(NAME ocop.rubric LABEL unit SOURCES unit/ocop/test_rubric.c LIBS ocop_common)
ocop_add_test(NAME ocop.score LABEL unit SOURCES unit/ocop/test_score.c LIBS ocop_common)
ocop_add_test(NAME ocop.sheetcsv LABEL unit SOURCES unit/ocop/test_sheetcsv.c LIBS ocop_common)
ocop_add_test(NAME score_cli LABEL integration SOURCES integration/test_score_cli.c LIBS ocop_common)
# Every one of the 26 sets of QĐ 26/2026 loads, validates and scores.
ocop_add_test(NAME ocop.rubric_sets LABEL unit SOURCES unit/ocop/test_rubric_sets.c LIBS ocop_common)
# The rubric files are exactly what the generator reads from the decision's text.
add_test(NAME unit.data.rubricgen COMMAND rubricgen --check
  ${CMAKE_SOURCE_DIR}/data/sources/qd26-2026-full-text.txt ${CMAKE_SOURCE_DIR}/data/rubrics/qd26-2026)
set_tests_properties(unit.data.rubricgen PROPERTIES LABELS unit TIMEOUT 60)
