#include "runtime/cpu/Gemm.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/GemmOwn.h"
#include "runtime/cpu/OneDnnMatmul.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

extern "C" void gotoblas_init(void); // OpenBLAS's load-time initialisation

namespace off::cpu {

namespace {

std::once_flag blasSetup;

// OpenBLAS starts a server thread per CPU but one in its load-time
// constructor, gotoblas_init, before main and before ensureSingleThreadedBlas
// can say otherwise: openblas_set_num_threads(1) later leaves those threads
// parked, and where they cannot be created (a thread limit) OpenBLAS raises
// SIGINT before main. Linked statically, its constructor is a plain one, so
// this prioritised constructor runs first: it initialises OpenBLAS itself,
// reading OPENBLAS_NUM_THREADS=1 (gotoblas_init reads the environment once and
// then ignores repeated calls), and restores the environment, so that the
// only compute threads are ours (--threads) and child processes see the
// caller's environment. (A shared libopenblas has initialised before this
// runs: there the call does nothing and its threads stay parked.)
__attribute__((constructor(200))) void blasStartsNoThreads() {
  const char *given = std::getenv("OPENBLAS_NUM_THREADS");
  char previous[64] = {};
  if (given && std::strlen(given) >= sizeof previous)
    return; // not restorable here: leave OpenBLAS to it
  bool hadPrevious = given != nullptr;
  if (hadPrevious)
    std::strcpy(previous, given);
  if (::setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0)
    return;
  gotoblas_init();
  if (hadPrevious)
    ::setenv("OPENBLAS_NUM_THREADS", previous, 1);
  else
    ::unsetenv("OPENBLAS_NUM_THREADS");
}

// We run OpenBLAS single-threaded
// and parallelise over blocks on our pool, so there is one set of threads
// (the --threads setting) and no oversubscription or spinning next to ours.
void ensureSingleThreadedBlas() {
  std::call_once(blasSetup, [] { openblas_set_num_threads(1); });
}

int checkedInt(int64_t value, const char *what) {
  if (value < 0 || value > INT_MAX)
    throw std::invalid_argument(std::string("gemm: ") + what + " = " +
                                std::to_string(value) + " does not fit BLAS's 32-bit int");
  return int(value);
}

void scaleC(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

void blasCall(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc) {
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    scaleC(M, N, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, checkedInt(M, "M"), checkedInt(N, "N"),
              checkedInt(K, "K"), alpha, A, checkedInt(lda, "lda"), B,
              checkedInt(ldb, "ldb"), beta, C, checkedInt(ldc, "ldc"));
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

GemmBlocks gemmBlocks(int64_t M, int64_t N, int64_t K) {
  // Blocks of at least ~8 MFLOP (~0.1 ms on one core; smaller ones cost more
  // in packing and pool wake-ups than they gain), at most 16 (enough for 16 threads). Each BLAS
  // call packs its A rows and B columns again, so the rows:columns split
  // follows M:N: packing traffic colBlocks*M*K + rowBlocks*N*K is smallest
  // for rowBlocks/colBlocks = M/N.
  constexpr double kMinBlockFlops = double(1 << 23);
  // Blocks are at least kMinSide rows and columns (where C has them): a
  // thinner block re-packs its K-long panels for too little work.
  constexpr int64_t kMaxBlocks = 16, kAlign = 16, kMinSide = 64;
  GemmBlocks blocks{std::max<int64_t>(M, 1), std::max<int64_t>(N, 1), 1, 1};
  double flops = 2.0 * double(M) * double(N) * double(K);
  int64_t parts = std::clamp<int64_t>(int64_t(flops / kMinBlockFlops), 1, kMaxBlocks);
  if (parts == 1 || M == 0 || N == 0)
    return blocks;
  int64_t maxRowParts = std::max<int64_t>(1, M / kMinSide);
  int64_t maxColParts = std::max<int64_t>(1, N / kMinSide);
  int64_t rowParts = std::llround(std::sqrt(double(parts) * double(M) / double(N)));
  rowParts = std::clamp<int64_t>(rowParts, 1, std::min(parts, maxRowParts));
  int64_t colParts = std::clamp<int64_t>(parts / rowParts, 1, maxColParts);
  blocks.blockRows = ceilDiv(ceilDiv(M, rowParts), kAlign) * kAlign;
  blocks.blockCols = ceilDiv(ceilDiv(N, colParts), kAlign) * kAlign;
  blocks.rowBlocks = ceilDiv(M, blocks.blockRows);
  blocks.colBlocks = ceilDiv(N, blocks.blockCols);
  return blocks;
}

void gemmSerial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc) {
  ensureSingleThreadedBlas();
  blasCall(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

namespace {

F32GemmPath choosePath() {
  const char *env = std::getenv("OFF_F32_GEMM");
  std::string forced = env ? env : "";
  if (forced == "openblas")
    return F32GemmPath::OpenBlas;
  if (forced == "own") {
    if (!own::haveF32())
      throw std::runtime_error("OFF_F32_GEMM=own, but this CPU has no AVX-512F");
    return F32GemmPath::Own;
  }
  if (forced == "onednn") {
    if (onednn::kernelName(DType::F32).empty())
      throw std::runtime_error("OFF_F32_GEMM=onednn, but oneDNN has no f32 matmul here");
    return F32GemmPath::OneDnn;
  }
  if (!forced.empty())
    throw std::runtime_error("OFF_F32_GEMM must be own, openblas or onednn, got '" + forced +
                             "'");
  // Ours where the CPU has AVX-512 (oneDNN's f32 there allocates in every
  // execute; docs/blas.md has the speeds), else OpenBLAS.
  return own::haveF32() ? F32GemmPath::Own : F32GemmPath::OpenBlas;
}

} // namespace

F32GemmPath f32GemmPath() {
  static const F32GemmPath path = choosePath();
  return path;
}

bool f32GemmHaveOwn() { return own::haveF32(); }

bool f32GemmOneDnnAvailable() { return !onednn::kernelName(DType::F32).empty(); }

std::string f32GemmDescription() {
  if (f32GemmPath() == F32GemmPath::Own)
    return std::string("own avx512f (serial calls: ") + blasDescription() + ")";
  if (f32GemmPath() == F32GemmPath::OneDnn)
    return "onednn " + onednn::version() + " " + onednn::kernelName(DType::F32) +
           " (serial calls: " + blasDescription() + ")";
  return blasDescription();
}

namespace {

void blockCall(F32GemmPath path, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
               float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
               float beta, float *C, int64_t ldc) {
  if (path == F32GemmPath::OneDnn && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) &&
      M > 0 && N > 0 && K > 0)
    return onednn::matmulBlock(DType::F32, transA, transB, M, N, K, A, lda, B, ldb, C,
                               DType::F32, ldc, beta == 1.0f);
  if (path == F32GemmPath::Own && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && M > 0 &&
      N > 0 && K > 0)
    return own::f32Block(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, beta == 1.0f);
  blasCall(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

} // namespace

void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
          const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
          int64_t ldc) {
  gemmOn(f32GemmPath(), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemmOn(F32GemmPath path, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
            float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
            float *C, int64_t ldc) {
  ensureSingleThreadedBlas();
  if (path == F32GemmPath::OneDnn && onednn::kernelName(DType::F32).empty())
    throw std::runtime_error("gemm: oneDNN has no f32 matmul here");
  if (path == F32GemmPath::Own && !own::haveF32())
    throw std::runtime_error("gemm: our f32 kernel needs AVX-512F, which this CPU lacks");
  if (M == 0 || N == 0)
    return;
  GemmBlocks blocks = gemmBlocks(M, N, K);
  int64_t count = blocks.rowBlocks * blocks.colBlocks;
  int64_t workPerBlock = 2 * blocks.blockRows * blocks.blockCols * std::max<int64_t>(K, 1);
  parallelRange(count, workPerBlock, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int64_t i0 = (b / blocks.colBlocks) * blocks.blockRows;
      int64_t j0 = (b % blocks.colBlocks) * blocks.blockCols;
      int64_t rows = std::min(blocks.blockRows, M - i0);
      int64_t cols = std::min(blocks.blockCols, N - j0);
      // Row i0 of op(A): row i0 of A, or column i0 of the stored [K, M].
      const float *a = transA ? A + i0 : A + i0 * lda;
      // Column j0 of op(B): column j0 of B, or row j0 of the stored [N, K].
      const float *bp = transB ? B + j0 * ldb : B + j0;
      blockCall(path, transA, transB, rows, cols, K, alpha, a, lda, bp, ldb, beta,
                C + i0 * ldc + j0, ldc);
    }
  });
}

const char *blasDescription() {
  static const std::string description = [] {
    std::string config = openblas_get_config();
    while (!config.empty() && config.back() == ' ')
      config.pop_back();
    return config + ", core " + openblas_get_corename();
  }();
  return description.c_str();
}

void setBlasInternalThreads(int threads) {
  ensureSingleThreadedBlas();
  openblas_set_num_threads(std::max(threads, 1));
}

} // namespace off::cpu
