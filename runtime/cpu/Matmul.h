// Batched matrix product with NumPy-broadcast batch dimensions (off.matmul).
//
// Legend: M rows, N columns, K contracted dimension; batch... any leading
// dimensions, broadcast between the operands.
//   lhs  [lhsBatch..., M, K]   ([lhsBatch..., K, M] with transLhs)
//   rhs  [rhsBatch..., K, N]   ([rhsBatch..., N, K] with transRhs)
//   out  [broadcast(lhsBatch, rhsBatch)..., M, N]
// Each batch entry is one gemm() (Gemm.h; gemmBf16() for bf16), so every
// element is the same dot product whatever the batch shape or thread count.
#pragma once

#include <cstdint>
#include <span>

namespace off::cpu {

void matmul(const float *lhs, std::span<const int64_t> lhsShape, bool transLhs,
            const float *rhs, std::span<const int64_t> rhsShape, bool transRhs, float *out);

/// The same on bf16 (bit patterns): each element a dot product accumulated
/// in fp32 and rounded once (gemmBf16, GemmBf16.h).
void matmulBf16(const uint16_t *lhs, std::span<const int64_t> lhsShape, bool transLhs,
                const uint16_t *rhs, std::span<const int64_t> rhsShape, bool transRhs,
                uint16_t *out);

} // namespace off::cpu
