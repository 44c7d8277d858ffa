// Batched matrix product with NumPy-broadcast batch dimensions (off.matmul).
//
// Legend: M rows, N columns, K contracted dimension; batch... any leading
// dimensions, broadcast between the operands.
//   lhs  [lhsBatch..., M, K]   ([lhsBatch..., K, M] with transLhs)
//   rhs  [rhsBatch..., K, N]   ([rhsBatch..., N, K] with transRhs)
//   out  [broadcast(lhsBatch, rhsBatch)..., M, N]
// Each batch entry is one gemm() (Gemm.h), so every element is the same BLAS
// dot product whatever the batch shape or thread count.
#pragma once

#include <cstdint>
#include <span>

namespace off::cpu {

void matmul(const float *lhs, std::span<const int64_t> lhsShape, bool transLhs,
            const float *rhs, std::span<const int64_t> rhsShape, bool transRhs, float *out);

} // namespace off::cpu
