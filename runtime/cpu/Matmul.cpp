#include "runtime/cpu/Matmul.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/GemmBf16.h"
#include "runtime/cpu/Shape.h"

#include <stdexcept>

namespace off::cpu {
namespace {

/// f32: gemm()/gemmSerial(); bf16 (uint16_t bits): gemmBf16(), bf16 out.
struct F32Products {
  static void full(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  }
  static void serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    gemmSerial(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  }
};

struct Bf16Products {
  static void full(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t *A,
                   int64_t lda, const uint16_t *B, int64_t ldb, uint16_t *C, int64_t ldc) {
    gemmBf16(ta, tb, M, N, K, A, lda, B, ldb, C, DType::BF16, ldc);
  }
  static void serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t *A,
                     int64_t lda, const uint16_t *B, int64_t ldb, uint16_t *C, int64_t ldc) {
    gemmBf16Serial(ta, tb, M, N, K, A, lda, B, ldb, C, DType::BF16, ldc);
  }
};

template <typename Products, typename T>
void batchedMatmul(const T *lhs, std::span<const int64_t> lhsShape, bool transLhs, const T *rhs,
                   std::span<const int64_t> rhsShape, bool transRhs, T *out) {
  if (lhsShape.size() < 2 || rhsShape.size() < 2)
    throw std::invalid_argument("matmul: operands need rank >= 2");
  size_t lr = lhsShape.size(), rr = rhsShape.size();
  int64_t M = transLhs ? lhsShape[lr - 1] : lhsShape[lr - 2];
  int64_t K = transLhs ? lhsShape[lr - 2] : lhsShape[lr - 1];
  int64_t N = transRhs ? rhsShape[rr - 2] : rhsShape[rr - 1];
  int64_t lda = lhsShape[lr - 1], ldb = rhsShape[rr - 1];
  std::span<const int64_t> lhsBatch = lhsShape.first(lr - 2), rhsBatch = rhsShape.first(rr - 2);
  Shape outBatch;
  if (!broadcastShapes(lhsBatch, rhsBatch, outBatch))
    throw std::invalid_argument("matmul: batch dimensions do not broadcast");
  int64_t batches = numel(outBatch);
  if (batches == 0 || M == 0 || N == 0)
    return;

  // A weight shared by every batch entry and an lhs whose rows are
  // contiguous across the batch: one product with the batch folded into M
  // (the Linear layer y = x W^T). Each element is still one dot product of
  // a row of lhs with a column of op(rhs), as in the general case.
  if (!transLhs && numel(rhsBatch) == 1) {
    Products::full(false, transRhs, numel(lhsBatch) * M, N, K, lhs, lda, rhs, ldb, out, N);
    return;
  }

  Shape lhsFull(lhsBatch.begin(), lhsBatch.end()), rhsFull(rhsBatch.begin(), rhsBatch.end());
  std::span<const int64_t> operands[] = {lhsFull, rhsFull};
  BroadcastLoop loop = makeBroadcastLoop(outBatch, operands);
  // Batch offsets in elements: entry index -> offset of its matrix.
  int64_t lhsMatrix = M * K, rhsMatrix = K * N;
  auto lhsOffset = [&](int64_t b) {
    int64_t row = b / loop.inner(), col = b % loop.inner();
    return (loop.rowOffset(0, row) + col * loop.strides[0].back()) * lhsMatrix;
  };
  auto rhsOffset = [&](int64_t b) {
    int64_t row = b / loop.inner(), col = b % loop.inner();
    return (loop.rowOffset(1, row) + col * loop.strides[1].back()) * rhsMatrix;
  };
  GemmBlocks blocks = gemmBlocks(M, N, K);
  if (blocks.rowBlocks * blocks.colBlocks == 1) {
    // Small products: one BLAS call each, the batch entries in parallel.
    parallelRange(batches, 2 * M * N * K, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b)
        Products::serial(transLhs, transRhs, M, N, K, lhs + lhsOffset(b), lda,
                         rhs + rhsOffset(b), ldb, out + b * M * N, N);
    });
    return;
  }
  for (int64_t b = 0; b < batches; ++b)
    Products::full(transLhs, transRhs, M, N, K, lhs + lhsOffset(b), lda, rhs + rhsOffset(b),
                   ldb, out + b * M * N, N);
}

} // namespace

void matmul(const float *lhs, std::span<const int64_t> lhsShape, bool transLhs,
            const float *rhs, std::span<const int64_t> rhsShape, bool transRhs, float *out) {
  batchedMatmul<F32Products>(lhs, lhsShape, transLhs, rhs, rhsShape, transRhs, out);
}

void matmulBf16(const uint16_t *lhs, std::span<const int64_t> lhsShape, bool transLhs,
                const uint16_t *rhs, std::span<const int64_t> rhsShape, bool transRhs,
                uint16_t *out) {
  batchedMatmul<Bf16Products>(lhs, lhsShape, transLhs, rhs, rhsShape, transRhs, out);
}

} // namespace off::cpu
