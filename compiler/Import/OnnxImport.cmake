# Extra dependencies of OffOnnxImport (included by CMakeLists.txt here).
#
# Debian's libonnx-dev (1.12) provides the protobuf schema classes (onnx_proto)
# and the checker / shape inference (onnx). Its checker and shape inference
# throw C++ exceptions, so OnnxChecker.cpp alone is compiled with exceptions;
# it catches everything and returns messages to the -fno-exceptions code.
find_package(ONNX CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
target_link_libraries(OffOnnxImport PUBLIC onnx onnx_proto protobuf::libprotobuf)
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/OnnxChecker.cpp
  PROPERTIES COMPILE_OPTIONS "-fexceptions")

# A libFuzzer target for the importer, built only on request and only with
# clang (compiler/Import/README.md says how); never part of ctest.
option(OFF_BUILD_ONNX_FUZZER "Build the libFuzzer target onnx_reader_fuzzer (clang)" OFF)
if(OFF_BUILD_ONNX_FUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OFF_BUILD_ONNX_FUZZER needs clang (libFuzzer): configure "
                        "with CC=clang-14 CXX=clang++-14 in a build dir of its own")
  endif()
  set(_off_fuzz_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
  foreach(lib OffOnnxImport OffTransforms OffDialect OffImport)
    target_compile_options(${lib} PRIVATE ${_off_fuzz_flags})
  endforeach()
  add_executable(onnx_reader_fuzzer ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/OnnxReaderFuzzer.cpp)
  target_compile_options(onnx_reader_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(onnx_reader_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(onnx_reader_fuzzer PRIVATE OffOnnxImport)
  off_mlir_target(onnx_reader_fuzzer)
endif()
