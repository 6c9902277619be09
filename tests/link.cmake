# The links between nodes (common/link): TLS engine, CA, dialling end, session client.
ocop_add_test(NAME link.tls LABEL unit SOURCES unit/link/test_tls.c LIBS ocop_link TIMEOUT 60)
