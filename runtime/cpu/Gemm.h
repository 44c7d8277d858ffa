// Single-precision matrix products, row-major: blocks on our AVX-512F
// kernel (GemmOwn.h) where the CPU has it, else OpenBLAS.
//
// Legend: M rows of C, N columns of C, K the contracted dimension.
//   A: [M, K] (transA: stored [K, M]), row stride lda
//   B: [K, N] (transB: stored [N, K]), row stride ldb
//   C: [M, N], row stride ldc;   C = alpha * op(A) op(B) + beta * C
//
// Threading and determinism: the library runs single-threaded inside each
// call; gemm() cuts C into blocks whose bounds depend only on (M, N, K) and
// runs one call per block on our pool. K is never split, so each element of
// C is one dot product whose order is fixed by the block's shape: the same
// inputs give the same bits for any thread count (tested in GemmTest).
//
// Which code computes a block of gemm() (the path) is chosen once per
// process: our kernel where the CPU has AVX-512F (it allocates nothing;
// oneDNN 2.6's execute allocates every call), else OpenBLAS;
// OFF_F32_GEMM=own|openblas|onednn forces one (onednn: oneDNN's matmul
// primitive). gemm() calls with alpha != 1 or beta other than 0 and 1, and
// gemmSerial(), always use OpenBLAS. The paths differ in bits.
#pragma once

#include <cstdint>
#include <string>

namespace off::cpu {

/// C = alpha * op(A) op(B) + beta * C on the kernel pool (see above). With
/// beta == 0, C is not read (it may hold NaNs).
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
          const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
          int64_t ldc);

/// The same product as one BLAS call on the calling thread, for kernels that
/// are already parallel over something else (attention heads).
void gemmSerial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc);

/// The block rule of gemm(): C is cut into rowBlocks x colBlocks blocks of
/// (at most) blockRows x blockCols elements.
struct GemmBlocks {
  int64_t blockRows, blockCols, rowBlocks, colBlocks;
};
GemmBlocks gemmBlocks(int64_t M, int64_t N, int64_t K);

/// "OpenBLAS 0.3.21 (static, Haswell kernels)": what the build links.
const char *blasDescription();

enum class F32GemmPath { OpenBlas, OneDnn, Own };
/// The path gemm()'s blocks take in this process.
F32GemmPath f32GemmPath();
/// gemm() on a given path (benchmarks; OneDnn where it cannot run throws).
void gemmOn(F32GemmPath path, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
            float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
            float *C, int64_t ldc);
/// Whether this CPU runs our own f32 kernel (AVX-512F).
bool f32GemmHaveOwn();
/// Whether oneDNN's f32 matmul can run here.
bool f32GemmOneDnnAvailable();
/// "own avx512f (serial calls: OpenBLAS ...)", "onednn 2.6.3 brg:avx512_core
/// (serial calls: ...)" or the OpenBLAS line.
std::string f32GemmDescription();

/// Lets BLAS use `threads` threads of its own inside one call (gemm() keeps
/// it at 1 and threads over blocks instead). For `offrt bench gemm` only.
void setBlasInternalThreads(int threads);

} // namespace off::cpu
