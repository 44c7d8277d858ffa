# Fails when BINARY depends on libMLIR or libLLVM (per ldd), or, on CUDA
# builds (CUDA=1), on a shared CUDA runtime or cuBLAS: offrt is carried alone
# to a GPU machine that has only the NVIDIA driver (libcuda), so cudart is
# linked statically and cuBLASLt is opened at run time when present.
execute_process(COMMAND ldd ${BINARY} OUTPUT_VARIABLE deps RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BINARY} failed")
endif()
string(REGEX MATCHALL "lib(MLIR|LLVM)[^ \n]*" found "${deps}")
if(found)
  message(FATAL_ERROR "${BINARY} links ${found}; offrt must not need MLIR/LLVM")
endif()
if(CUDA)
  string(REGEX MATCHALL "lib(cudart|cublas|cublasLt)\\.so[^ \n]*" found "${deps}")
  if(found)
    message(FATAL_ERROR "${BINARY} links ${found}; a CUDA offrt must need only the driver")
  endif()
endif()
message(STATUS "${BINARY}: no libMLIR/libLLVM (CUDA=${CUDA}: no shared cudart/cuBLAS) among:\n${deps}")
