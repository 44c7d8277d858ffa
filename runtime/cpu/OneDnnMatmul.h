// Internal to Gemm.cpp and GemmBf16.cpp: one block of a matrix product on
// oneDNN's matmul primitive, single-threaded on the calling thread (our pool
// runs the blocks), one cached primitive per block shape. Without oneDNN in
// the build (OFF_HAVE_DNNL undefined) available() is false, kernelName()
// empty and matmulBlock is never called.
#pragma once

#include "runtime/common/DType.h"

#include <cstdint>
#include <string>

namespace off::cpu::onednn {

bool available();
/// "2.6.3".
std::string version();
/// The implementation oneDNN picks here for a matmul with A and B of `ab`
/// (F32 or BF16) and C of the same type ("brg:avx512_core_bf16", ...), ""
/// when it has none. Probed once; a reference, so a check per call copies
/// nothing.
const std::string &kernelName(DType ab);

/// C = op(A) op(B) (+ C with `accumulate`) for one block, on the calling
/// thread. A and B are `ab` (F32 or BF16), C is `cType` (F32 or BF16).
void matmulBlock(DType ab, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                 const void *A, int64_t lda, const void *B, int64_t ldb, void *C, DType cType,
                 int64_t ldc, bool accumulate);

/// How many times matmulBlock has executed a primitive in this process
/// (tests: oneDNN 2.6 allocates its argument map inside each execution).
uint64_t executions();

} // namespace off::cpu::onednn
