# Sneakernet: the bundle file codec (PROTOCOL.md section 6) with its fuzzing
# oracle, and a USB round between real `ocop` and `ocopd` processes.
# The codec hashes with OpenSSL, which ocop_protocol does not list, so the
# tests that link the codec without ocop_common name it themselves.
ocop_add_test(NAME protocol.bundle LABEL unit
  SOURCES unit/protocol/test_bundle.c fuzz/fuzz_bundle.c LIBS ocop_protocol OpenSSL::Crypto)
ocop_add_test(NAME sneakernet LABEL integration
  SOURCES integration/test_sneakernet.c LIBS ocop_client ocop_server TIMEOUT 600)
