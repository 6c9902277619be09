# Tests of the sync engine: server service, client session, simulation.
ocop_add_test(NAME sim LABEL fault SOURCES fault/test_sim.c LIBS ocop_client ocop_server TIMEOUT 1200)
ocop_add_test(NAME sync LABEL integration SOURCES integration/test_sync.c LIBS ocop_client ocop_server TIMEOUT 300)
