# SIGHUP, listen errors, and the backup and restore drill of the README.
ocop_add_test(NAME operations LABEL integration SOURCES integration/test_operations.c LIBS ocop_common TIMEOUT 240)
