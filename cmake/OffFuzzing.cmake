# OFF_BUILD_FUZZERS: build the libFuzzer targets of fuzz/ (fuzz/README.md).
# libFuzzer comes with clang only. Everything compiled in such a build gets
# coverage instrumentation (fuzzer-no-link) and ASan + UBSan, so that the
# runtime libraries the targets link are instrumented too; UBSan findings
# abort rather than print and go on, so libFuzzer sees them as crashes.
# Use a build directory of its own, runtime only:
#   cmake -G Ninja -S . -B build-fuzz -DOFF_BUILD_FUZZERS=ON -DOFF_BUILD_COMPILER=OFF \
#         -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
option(OFF_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)
if(OFF_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR
      "OFF_BUILD_FUZZERS=ON needs clang (libFuzzer ships with it), but the C++ "
      "compiler is ${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}). Configure a "
      "separate build directory with -DCMAKE_C_COMPILER=clang "
      "-DCMAKE_CXX_COMPILER=clang++ -DOFF_BUILD_COMPILER=OFF.")
  endif()
  # C and C++ only: CUDA sources keep their host compiler's flags.
  add_compile_options(
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link,address,undefined>"
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fno-sanitize-recover=undefined>"
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fno-omit-frame-pointer>"
    "$<$<COMPILE_LANGUAGE:C,CXX>:-g>")
  add_link_options(-fsanitize=address,undefined)
endif()
