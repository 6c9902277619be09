# Tests of the sync engine: server service, client session, simulation.
ocop_add_test(NAME sim LABEL fault SOURCES fault/test_sim.c fault/simfiles.c LIBS ocop_client ocop_server TIMEOUT 1200)
ocop_add_test(NAME sync LABEL integration SOURCES integration/test_sync.c LIBS ocop_client ocop_server TIMEOUT 300)

# A tool for demos and tests: write a cell without the CLI's checks.
add_executable(ocop-rawwrite tools/rawwrite.c)
target_link_libraries(ocop-rawwrite PRIVATE ocop_common ocop_warnings)
set_target_properties(ocop-rawwrite PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)

# README command 1's round must keep working: run the demo and check what it shows.
add_test(NAME integration.demo COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/demo_check.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.demo PROPERTIES LABELS integration TIMEOUT 300)

# The fuzz oracle for rubric files and CSV sheets, replayed over the seed corpora in every build.
ocop_add_test(NAME fuzz.corpus_text LABEL fault
  SOURCES fuzz/test_corpus_text.c fuzz/decode_text.c LIBS ocop_common)

# The server is the authority: issue #9's findings with real processes and a tampered laptop.
ocop_add_test(NAME authority LABEL integration SOURCES integration/test_authority.c LIBS ocop_client ocop_server TIMEOUT 300)
