// bf16 matrix products with fp32 accumulation, row-major.
//
// Legend: M rows of C, N columns of C, K the contracted dimension.
//   A: [M, K] bf16 (transA: stored [K, M]), row stride lda
//   B: [K, N] bf16 (transB: stored [N, K]), row stride ldb
//   C: [M, N] bf16 or f32, row stride ldc
//   C = op(A) op(B) (+ C with `accumulate`, f32 C only)
// Every element of C is a dot product of bf16 values (exact in fp32)
// accumulated in fp32, rounded once to nearest even when C is bf16.
//
// Three implementations ("paths"), chosen once per process:
// * own: our AVX512_BF16 kernel (GemmOwn.h), the default where the CPU has
//   AVX512_BF16 and no AMX: it allocates nothing (oneDNN 2.6's execute
//   allocates every call) and runs level with oneDNN there (docs/blas.md).
// * onednn: oneDNN's matmul primitive, the default on AMX machines (its AMX
//   kernel); where oneDNN has no native bf16 kernel (its implementation name
//   says neither "amx" nor "bf16") it is never chosen.
// * fallback: panels of A and B converted to fp32 (exact) and multiplied on
//   gemm()'s f32 path (our AVX-512F kernel, or OpenBLAS's sgemm: CPUs with
//   AVX-512F but no AVX512_BF16 get ours), in K chunks of kBf16Chunk summed
//   in order.
// OFF_BF16_GEMM=own|onednn|fallback forces one (one that cannot run here is
// an error at first use); ONEDNN_MAX_CPU_ISA (oneDNN's own) caps its ISA.
//
// Threads and determinism, as gemm() (Gemm.h): C is cut into blocks whose
// bounds depend only on (M, N, K), each block is one single-threaded call on
// our pool, K is never split across calls: the same inputs give the same
// bits for any thread count. The two paths (and oneDNN's ISAs) differ in
// the order of the fp32 sums, so bits differ between them.
#pragma once

#include "runtime/common/DType.h"

#include <cstdint>
#include <string>

namespace off::cpu {

enum class Bf16GemmPath { OneDnn, Fallback, Own };

/// C = op(A) op(B) (+ C when `accumulate`; C must then be f32) on the kernel
/// pool. `cType` is BF16 or F32.
void gemmBf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const uint16_t *A,
              int64_t lda, const uint16_t *B, int64_t ldb, void *C, DType cType, int64_t ldc,
              bool accumulate = false);

/// The same product as one call on the calling thread (for kernels already
/// parallel over something else).
void gemmBf16Serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                    const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, void *C,
                    DType cType, int64_t ldc, bool accumulate = false);

/// gemmBf16 on a given path (benchmarks; onednn where it cannot run throws).
void gemmBf16On(Bf16GemmPath path, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, void *C,
                DType cType, int64_t ldc, bool accumulate = false);

/// The path this process uses (OFF_BF16_GEMM, else onednn on AMX, own with
/// AVX512_BF16, else fallback).
Bf16GemmPath bf16GemmPath();
/// Whether this CPU runs our own kernel (AVX512_BF16).
bool bf16GemmHaveOwn();
/// Whether oneDNN is linked into this build at all.
bool bf16GemmHaveOneDnn();
/// The kernel oneDNN picks here, e.g. "brg:avx512_core_bf16" or
/// "brg:avx512_core_amx"; "" without oneDNN or when it has no bf16 matmul.
std::string bf16GemmOneDnnKernel();
/// One line for --version and benches: "own avx512_bf16 (vdpbf16ps)",
/// "onednn 2.6.3 brg:avx512_core_amx", "fallback (bf16 -> f32, own avx512f)"
/// or "fallback (bf16 -> f32, OpenBLAS sgemm)".
std::string bf16GemmDescription();

/// K is summed in chunks of this many in the fallback.
constexpr int64_t kBf16Chunk = 256;

} // namespace off::cpu
