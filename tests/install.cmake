# Install, relocate and run the installed programs (README: installing the server).
add_test(NAME integration.install
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/install_check.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(integration.install PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "CMAKE=${CMAKE_COMMAND}")
ocop_add_test(NAME server.config_example LABEL unit SOURCES unit/server/test_config_example.c LIBS ocop_server)
