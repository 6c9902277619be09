# Tests of the evidence files (issue #12): their messages, the file store, the exchange, and real processes.
# The bundles it builds are authenticated with the fuzzers' key, so the seeds it writes reach deep.
ocop_add_test(NAME protocol.files LABEL unit SOURCES unit/protocol/test_files.c fuzz/fuzz_bundle.c
  LIBS ocop_protocol OpenSSL::Crypto)
ocop_add_test(NAME server.files LABEL unit SOURCES unit/server/test_files.c LIBS ocop_client ocop_server TIMEOUT 120)
ocop_add_test(NAME store.blob LABEL unit SOURCES unit/store/test_blob.c LIBS ocop_common)
ocop_add_test(NAME files LABEL integration SOURCES integration/test_files.c integration/wireproxy.c
  LIBS ocop_client ocop_server TIMEOUT 300)
ocop_add_test(NAME client.progress LABEL unit SOURCES unit/client/test_progress.c LIBS ocop_client)
