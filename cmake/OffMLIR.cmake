# Finds MLIR/LLVM 22 and defines off_mlir_target(): the flags our MLIR-side
# targets share. LLVM's global option handling is not included, so the runtime
# keeps its own flags (exceptions on); MLIR-side targets get LLVM's.
# MLIRConfigVersion accepts only exact versions, so ask for any and check 22.x.
find_package(MLIR REQUIRED CONFIG HINTS /usr/lib/llvm-22/lib/cmake/mlir)
if(NOT LLVM_VERSION_MAJOR EQUAL 22)
  message(FATAL_ERROR "need MLIR/LLVM 22, found ${LLVM_PACKAGE_VERSION} in ${MLIR_DIR}; "
                      "pass -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir")
endif()
message(STATUS "MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
set(LLVM_RUNTIME_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/bin)
set(LLVM_LIBRARY_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/lib)
set(MLIR_LINK_MLIR_DYLIB ON)
include(TableGen)
include(AddLLVM)
include(AddMLIR)

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
separate_arguments(OFF_LLVM_DEFINITIONS NATIVE_COMMAND "${LLVM_DEFINITIONS}")

function(off_mlir_target target)
  target_compile_definitions(${target} PRIVATE ${OFF_LLVM_DEFINITIONS})
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -Wall -Wno-unused-parameter>)
  target_link_libraries(${target} PUBLIC MLIR LLVM)
endfunction()
