# ocop_add_test(NAME <module.file> SOURCES ... LABEL unit|integration|fault [LIBS ...] [TIMEOUT s])
#
# Registers one cmocka binary as a CTest test named <label>.<name>, with the label
# and a timeout, as STYLE.md section 8 asks. Tests link the internal static
# libraries so internal functions are reachable, and may relax -Wconversion only.
function(ocop_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS;EXTRA_LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  string(REPLACE "." "_" exe "test_${T_LABEL}_${T_NAME}")
  add_executable(${exe} ${T_SOURCES})
  target_link_libraries(${exe} PRIVATE ${T_LIBS} ocop_testlib ocop_warnings)
  target_compile_options(${exe} PRIVATE -Wno-conversion -Wno-sign-conversion)
  add_test(NAME ${T_LABEL}.${T_NAME} COMMAND ${exe})
  set_tests_properties(${T_LABEL}.${T_NAME} PROPERTIES
    LABELS "${T_LABEL};${T_EXTRA_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "OCOP_BIN_DIR=${CMAKE_BINARY_DIR}/bin;OCOP_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
