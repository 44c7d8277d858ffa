// Internal to Gemm.cpp and GemmBf16.cpp: our own AVX-512 kernels for one
// block of a matrix product, on the calling thread (our pool runs the
// blocks). They exist so that a training step allocates nothing on the
// default paths of AVX-512 machines: oneDNN 2.6 allocates inside every
// execute, and its bf16 path is the only fast one there.
//
// Legend and layouts as Gemm.h / GemmBf16.h (row-major, transposes as
// stored). f32: A, B f32, each element of C one fused multiply-add chain over
// k = 0..K-1 in order, starting from 0. bf16: A, B bf16, each element of C an
// fp32 chain over the pairs (k, k+1), k even, in order, each pair added by
// one vdpbf16ps (its odd product first, then its even one, each rounded to
// fp32; the products are exact; subnormal inputs and results are flushed to
// zero, as the instruction does). Neither chain depends on how C is cut into
// blocks, so the bits are the same for any block rule and thread count; the
// result is then stored to C (bf16: rounded once, to nearest even) or added
// to it (`accumulate`, f32 C only: one more rounding).
//
// Scratch: each calling thread packs panels of B (and of A where A is
// transposed, or K is odd in bf16) into one buffer of fixed size (about
// 0.5 MiB), made on the thread's first call and kept: later calls allocate
// nothing.
#pragma once

#include "runtime/common/DType.h"

#include <cstdint>

namespace off::cpu::own {

/// This CPU runs the f32 kernel (AVX-512F).
bool haveF32();
/// This CPU runs the bf16 kernel (AVX-512F, AVX-512BW and AVX512_BF16).
bool haveBf16();

/// C = op(A) op(B) (+ C with `accumulate`), f32 everything.
void f32Block(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float *A,
              int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc, bool accumulate);

/// C = op(A) op(B) (+ C with `accumulate`, f32 C only); A, B bf16; C bf16 or f32.
void bf16Block(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const uint16_t *A,
               int64_t lda, const uint16_t *B, int64_t ldb, void *C, DType cType, int64_t ldc,
               bool accumulate);

/// How many blocks (f32 and bf16) our kernels have computed in this process
/// (tests: which path a training step really took).
uint64_t blocks();

} // namespace off::cpu::own
