# The operator view of a running province: token, /metrics, the dashboard in headless Chromium.
ocop_add_test(NAME dashboard LABEL integration SOURCES integration/test_dashboard.c TIMEOUT 240)
set_property(TEST integration.dashboard APPEND PROPERTY ENVIRONMENT "OCOP_BUILD_DIR=${CMAKE_BINARY_DIR}")
# The product's label QR code, decoded back by zbarimg.
ocop_add_test(NAME product_qr LABEL integration SOURCES integration/test_product_qr.c TIMEOUT 120)
