# Tests of the registry (common/ocop/registry.c) and its `ocop` commands
# (init, unit, subject, product, dossier, document, search).
ocop_add_test(NAME ocop.registry LABEL unit SOURCES unit/ocop/test_registry.c LIBS ocop_common)
ocop_add_test(NAME cli.registry LABEL integration SOURCES integration/test_cli_registry.c
  LIBS ocop_common)
# ocop history import: earlier rounds brought in, refused whole on a bad line, reported alongside.
ocop_add_test(NAME cli.history LABEL integration SOURCES integration/test_cli_history.c LIBS ocop_common)
# Administrative units: shipped provinces and succession, roll-ups, `ocop unit import`.
ocop_add_test(NAME ocop.units LABEL unit SOURCES unit/ocop/test_units.c LIBS ocop_common)
# What a clerk hit: foreign SQLite files, --db, status filters, search spaces, sheet files, error prefixes.
ocop_add_test(NAME cli.clerk LABEL integration SOURCES integration/test_cli_clerk.c LIBS ocop_common)
# A province's round end to end (real ocopd and ocop processes), its history imported, the tables checked.
ocop_add_test(NAME published LABEL integration SOURCES integration/test_published.c LIBS ocop_common TIMEOUT 300)
# The entity tables (common/ocop/entity.c) against the store's schema, and their value checks.
ocop_add_test(NAME ocop.entity LABEL unit SOURCES unit/ocop/test_entity.c LIBS ocop_common)
