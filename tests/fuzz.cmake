# Fuzzing of every decoder: the envelope and message bodies (PROTOCOL.md 3-4) and
# change records and cell maps (section 5). The oracle (fuzz/decode.c) is shared
# by the libFuzzer targets and the corpus replay test, which runs in every build
# so that an input dropped into fuzz/crashes/ stays a regression test.

# Writes the seed corpora: fuzz_gen_corpus <dir> (the seeds are committed in fuzz/corpus).
add_executable(fuzz_gen_corpus fuzz/gen_corpus.c)
target_link_libraries(fuzz_gen_corpus PRIVATE ocop_protocol ocop_warnings)

ocop_add_test(NAME fuzz.corpus LABEL fault
  SOURCES fuzz/test_corpus.c fuzz/decode.c LIBS ocop_protocol)

# libFuzzer targets: configure with CC=clang -DOCOP_FUZZ=ON, as scripts/fuzz.sh does
# (it also instruments the libraries with -fsanitize=fuzzer-no-link through CMAKE_C_FLAGS).
if(OCOP_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OCOP_FUZZ needs clang (libFuzzer): configure with CC=clang")
  endif()
  foreach(target message change bundle files)
    add_executable(fuzz_${target} fuzz/fuzz_${target}.c fuzz/decode.c)
    target_link_libraries(fuzz_${target} PRIVATE ocop_protocol ocop_warnings)
    target_compile_options(fuzz_${target} PRIVATE
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(fuzz_${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endforeach()
  target_link_libraries(fuzz_bundle PRIVATE OpenSSL::Crypto) # the sneakernet bundle digest
  # The text inputs clerks hand us: rubric files and council CSV sheets (oracle fuzz/decode_text.c).
  foreach(target rubric sheetcsv)
    add_executable(fuzz_${target} fuzz/fuzz_${target}.c fuzz/decode_text.c)
    target_link_libraries(fuzz_${target} PRIVATE ocop_common ocop_warnings)
    target_compile_definitions(fuzz_${target} PRIVATE
      OCOP_FUZZ_RUBRIC="${CMAKE_SOURCE_DIR}/data/rubrics/qd26-2026/01.rubric")
    target_compile_options(fuzz_${target} PRIVATE
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(fuzz_${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endforeach()
endif()
