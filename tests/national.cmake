# The national tier (docs/NATIONAL.md): 5-star candidates handed from a province to the
# national server exactly once, and the national decision back down to the commune.
ocop_add_test(NAME national LABEL integration SOURCES integration/test_national.c
  LIBS ocop_common ocop_server TIMEOUT 300)
ocop_add_test(NAME sim3 LABEL fault SOURCES fault/test_sim3.c fault/simfiles.c LIBS ocop_client ocop_server TIMEOUT 1800)
