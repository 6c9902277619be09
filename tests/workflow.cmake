# Tests of the dossier workflow and tier authority (common/ocop/workflow.c, authority.c).
ocop_add_test(NAME ocop.workflow LABEL unit SOURCES unit/ocop/test_workflow.c LIBS ocop_common)
ocop_add_test(NAME ocop.authority LABEL unit SOURCES unit/ocop/test_authority.c LIBS ocop_common)
ocop_add_test(NAME ocop.authority_matrix LABEL unit SOURCES unit/ocop/test_authority_matrix.c LIBS ocop_common
  TIMEOUT 300)
ocop_add_test(NAME ocop.scope LABEL unit SOURCES unit/ocop/test_scope.c LIBS ocop_common)
