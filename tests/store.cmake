# Tests of common/store: the replica core.
ocop_add_test(NAME store.store LABEL unit SOURCES unit/store/test_store.c LIBS ocop_common)
ocop_add_test(NAME store.capture LABEL unit SOURCES unit/store/test_capture.c LIBS ocop_common)
ocop_add_test(NAME store.fold LABEL unit SOURCES unit/store/test_fold.c LIBS ocop_common)
ocop_add_test(NAME store.merge LABEL unit SOURCES unit/store/test_merge.c LIBS ocop_common)
ocop_add_test(NAME store.migrate LABEL unit SOURCES unit/store/test_migrate.c LIBS ocop_common)
ocop_add_test(NAME store.schema LABEL unit SOURCES unit/store/test_schema.c LIBS ocop_common)
