# The links between nodes (common/link): TLS engine, CA, dialling end, session client.
ocop_add_test(NAME link.tls LABEL unit SOURCES unit/link/test_tls.c LIBS ocop_link TIMEOUT 60)
ocop_add_test(NAME link.session LABEL unit SOURCES unit/link/test_session.c LIBS ocop_link)
# Trusted links between real processes over tls+tcp://127.0.0.1 (README "Trusted links").
ocop_add_test(NAME tls LABEL integration SOURCES integration/test_tls.c LIBS ocop_common ocop_link TIMEOUT 300)
ocop_add_test(NAME server.guard LABEL unit SOURCES unit/server/test_guard.c LIBS ocop_server)
# Many sites at once share the batch memory (HELLO_OK tells each its share).
ocop_add_test(NAME server.batch LABEL unit SOURCES unit/server/test_batch.c LIBS ocop_server)
# No client can hold the server: hostile peers against a real ocopd on 127.0.0.1.
ocop_add_test(NAME limits LABEL integration SOURCES integration/test_limits.c LIBS ocop_common ocop_link TIMEOUT 300)
# The network library's watchdog (nng 1.5.2's reaper deadlock): probes, a wedged reaper, shutdown deadline.
ocop_add_test(NAME server.netwatch LABEL unit SOURCES unit/server/test_netwatch.c LIBS ocop_server TIMEOUT 60)
