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
