#include "runtime/cpu/GemmBf16.h"

#include "runtime/common/Float16.h"
#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/GemmOwn.h"
#include "runtime/cpu/OneDnnMatmul.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::cpu {
namespace {

// Fallback tiles: C in kTileRows x kTileCols pieces, K in kBf16Chunk chunks.
constexpr int64_t kTileRows = 64, kTileCols = 256;

/// Converts a [rows, cols] bf16 panel (row stride ld) to dense fp32.
void widen(const uint16_t *src, int64_t ld, int64_t rows, int64_t cols, float *dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dst[r * cols + c] = bf16ToFloat(src[r * ld + c]);
}

void storeTile(const float *tile, int64_t rows, int64_t cols, void *C, DType cType, int64_t ldc,
               bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *t = tile + r * cols;
    if (cType == DType::F32) {
      float *c = static_cast<float *>(C) + r * ldc;
      for (int64_t j = 0; j < cols; ++j)
        c[j] = accumulate ? c[j] + t[j] : t[j];
    } else {
      uint16_t *c = static_cast<uint16_t *>(C) + r * ldc;
      for (int64_t j = 0; j < cols; ++j)
        c[j] = floatToBf16(t[j]);
    }
  }
}

/// One block with the fallback: exact fp32 copies of A and B panels, an f32
/// product (gemm()'s path: ours or OpenBLAS) per K chunk into an fp32 tile
/// (chunks summed in order), then C.
void fallbackBlock(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                   const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, void *C,
                   DType cType, int64_t ldc, bool accumulate) {
  thread_local std::vector<float> scratch;
  size_t need = size_t(kTileRows * kBf16Chunk + kBf16Chunk * kTileCols + kTileRows * kTileCols);
  if (scratch.size() < need)
    scratch.resize(need);
  float *a = scratch.data(), *b = a + kTileRows * kBf16Chunk, *tile = b + kBf16Chunk * kTileCols;
  size_t cSize = dtypeSize(cType);
  for (int64_t i0 = 0; i0 < M; i0 += kTileRows) {
    int64_t rows = std::min(kTileRows, M - i0);
    for (int64_t j0 = 0; j0 < N; j0 += kTileCols) {
      int64_t cols = std::min(kTileCols, N - j0);
      if (K == 0)
        std::fill(tile, tile + rows * cols, 0.0f);
      for (int64_t k0 = 0; k0 < K; k0 += kBf16Chunk) {
        int64_t depth = std::min(kBf16Chunk, K - k0);
        // Stored orientation: op(A) rows i0.., or A^T's columns.
        if (transA)
          widen(A + k0 * lda + i0, lda, depth, rows, a);
        else
          widen(A + i0 * lda + k0, lda, rows, depth, a);
        if (transB)
          widen(B + j0 * ldb + k0, ldb, cols, depth, b);
        else
          widen(B + k0 * ldb + j0, ldb, depth, cols, b);
        // The f32 path of gemm(): ours on AVX-512F, else OpenBLAS.
        if (f32GemmPath() == F32GemmPath::Own)
          own::f32Block(transA, transB, rows, cols, depth, a, transA ? rows : depth, b,
                        transB ? depth : cols, tile, cols, k0 != 0);
        else
          cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                      transB ? CblasTrans : CblasNoTrans, int(rows), int(cols), int(depth),
                      1.0f, a, int(transA ? rows : depth), b, int(transB ? depth : cols),
                      k0 == 0 ? 0.0f : 1.0f, tile, int(cols));
      }
      storeTile(tile, rows, cols, static_cast<char *>(C) + (i0 * ldc + j0) * cSize, cType, ldc,
                accumulate);
    }
  }
}

void checkArgs(int64_t M, int64_t N, int64_t K, DType cType, bool accumulate) {
  if (M < 0 || N < 0 || K < 0 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
    throw std::invalid_argument("gemmBf16: sizes out of range");
  if (cType != DType::F32 && cType != DType::BF16)
    throw std::invalid_argument("gemmBf16: C must be f32 or bf16");
  if (accumulate && cType != DType::F32)
    throw std::invalid_argument("gemmBf16: accumulating needs an f32 C");
}

void blockCall(Bf16GemmPath path, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
               const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, void *C,
               DType cType, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0)
    return;
  if (path == Bf16GemmPath::Own)
    own::bf16Block(transA, transB, M, N, K, A, lda, B, ldb, C, cType, ldc, accumulate);
  else if (path == Bf16GemmPath::OneDnn && K > 0)
    onednn::matmulBlock(DType::BF16, transA, transB, M, N, K, A, lda, B, ldb, C, cType, ldc, accumulate);
  else
    fallbackBlock(transA, transB, M, N, K, A, lda, B, ldb, C, cType, ldc, accumulate);
}

Bf16GemmPath choosePath() {
  const char *env = std::getenv("OFF_BF16_GEMM");
  std::string forced = env ? env : "";
  if (forced == "fallback")
    return Bf16GemmPath::Fallback;
  if (forced == "own") {
    if (!own::haveBf16())
      throw std::runtime_error("OFF_BF16_GEMM=own, but this CPU has no AVX512_BF16");
    return Bf16GemmPath::Own;
  }
  if (forced == "onednn") {
    if (onednn::kernelName(DType::BF16).empty())
      throw std::runtime_error("OFF_BF16_GEMM=onednn, but oneDNN has no bf16 matmul here (" +
                               std::string(onednn::available() ? "this CPU or ONEDNN_MAX_CPU_ISA"
                                                               : "not linked") +
                               ")");
    return Bf16GemmPath::OneDnn;
  }
  if (!forced.empty())
    throw std::runtime_error("OFF_BF16_GEMM must be own, onednn or fallback, got '" + forced +
                             "'");
  // AMX machines keep oneDNN (its AMX kernel; not measured against ours);
  // AVX512_BF16 machines take ours (oneDNN's execute allocates, docs/blas.md
  // has the speeds); the rest the fallback.
  std::string kernel = onednn::kernelName(DType::BF16);
  if (kernel.find("amx") != std::string::npos)
    return Bf16GemmPath::OneDnn;
  if (own::haveBf16())
    return Bf16GemmPath::Own;
  return kernel.find("bf16") != std::string::npos ? Bf16GemmPath::OneDnn
                                                  : Bf16GemmPath::Fallback;
}

} // namespace

Bf16GemmPath bf16GemmPath() {
  static const Bf16GemmPath path = choosePath();
  return path;
}

bool bf16GemmHaveOwn() { return own::haveBf16(); }

bool bf16GemmHaveOneDnn() { return onednn::available(); }

std::string bf16GemmOneDnnKernel() { return onednn::kernelName(DType::BF16); }

std::string bf16GemmDescription() {
  if (bf16GemmPath() == Bf16GemmPath::Own)
    return "own avx512_bf16 (vdpbf16ps)";
  if (bf16GemmPath() == Bf16GemmPath::OneDnn)
    return "onednn " + onednn::version() + " " + onednn::kernelName(DType::BF16);
  std::string text = f32GemmPath() == F32GemmPath::Own ? "fallback (bf16 -> f32, own avx512f)"
                                                        : "fallback (bf16 -> f32, OpenBLAS sgemm)";
  const std::string &kernel = onednn::kernelName(DType::BF16);
  bool native = kernel.find("bf16") != std::string::npos ||
                kernel.find("amx") != std::string::npos;
  if (own::haveBf16() || native)
    text += "; forced by OFF_BF16_GEMM";
  else if (!onednn::available())
    text += "; oneDNN not linked";
  else if (kernel.empty())
    text += "; oneDNN has no bf16 matmul here";
  else
    text += "; oneDNN's " + kernel + " not native bf16";
  return text;
}

void gemmBf16Serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                    const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, void *C,
                    DType cType, int64_t ldc, bool accumulate) {
  checkArgs(M, N, K, cType, accumulate);
  blockCall(bf16GemmPath(), transA, transB, M, N, K, A, lda, B, ldb, C, cType, ldc, accumulate);
}

void gemmBf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const uint16_t *A,
              int64_t lda, const uint16_t *B, int64_t ldb, void *C, DType cType, int64_t ldc,
              bool accumulate) {
  gemmBf16On(bf16GemmPath(), transA, transB, M, N, K, A, lda, B, ldb, C, cType, ldc, accumulate);
}

void gemmBf16On(Bf16GemmPath path, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, void *C,
                DType cType, int64_t ldc, bool accumulate) {
  checkArgs(M, N, K, cType, accumulate);
  if (path == Bf16GemmPath::OneDnn && onednn::kernelName(DType::BF16).empty())
    throw std::runtime_error("gemmBf16: oneDNN has no bf16 matmul here");
  if (path == Bf16GemmPath::Own && !own::haveBf16())
    throw std::runtime_error("gemmBf16: our bf16 kernel needs AVX512_BF16, which this CPU lacks");
  if (M == 0 || N == 0)
    return;
  GemmBlocks blocks = gemmBlocks(M, N, K);
  int64_t count = blocks.rowBlocks * blocks.colBlocks;
  int64_t workPerBlock = 2 * blocks.blockRows * blocks.blockCols * std::max<int64_t>(K, 1);
  size_t cSize = dtypeSize(cType);
  parallelRange(count, workPerBlock, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int64_t i0 = (b / blocks.colBlocks) * blocks.blockRows;
      int64_t j0 = (b % blocks.colBlocks) * blocks.blockCols;
      int64_t rows = std::min(blocks.blockRows, M - i0);
      int64_t cols = std::min(blocks.blockCols, N - j0);
      const uint16_t *a = transA ? A + i0 : A + i0 * lda;
      const uint16_t *bp = transB ? B + j0 * ldb : B + j0;
      blockCall(path, transA, transB, rows, cols, K, a, lda, bp, ldb,
                static_cast<char *>(C) + (i0 * ldc + j0) * cSize, cType, ldc, accumulate);
    }
  });
}

} // namespace off::cpu
