# Tests of the protocol module's session messages and change records (PROTOCOL.md 4.2-4.9, 5).
ocop_add_test(NAME protocol.session LABEL unit SOURCES unit/protocol/test_session.c LIBS ocop_protocol)
ocop_add_test(NAME protocol.change LABEL unit SOURCES unit/protocol/test_change.c LIBS ocop_protocol)
ocop_add_test(NAME protocol.batch LABEL unit SOURCES unit/protocol/test_batch.c LIBS ocop_protocol ZLIB::ZLIB)
