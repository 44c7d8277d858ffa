#include "runtime/cuda/CublasLt.h"

#include <cublasLt.h>
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace off::cuda {

struct CublasLt::Api {
  decltype(&cublasLtCreate) create;
  decltype(&cublasLtMatmulDescCreate) descCreate;
  decltype(&cublasLtMatmulDescDestroy) descDestroy;
  decltype(&cublasLtMatmulDescSetAttribute) descSet;
  decltype(&cublasLtMatrixLayoutCreate) layoutCreate;
  decltype(&cublasLtMatrixLayoutDestroy) layoutDestroy;
  decltype(&cublasLtMatrixLayoutSetAttribute) layoutSet;
  decltype(&cublasLtMatmulPreferenceCreate) prefCreate;
  decltype(&cublasLtMatmulPreferenceDestroy) prefDestroy;
  decltype(&cublasLtMatmulPreferenceSetAttribute) prefSet;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic;
  decltype(&cublasLtMatmul) matmul;
};

namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> names;
  if (const char *path = std::getenv("OFF_CUBLASLT"); path && *path)
    names.push_back(path);
  names.push_back("libcublasLt.so.13");
  names.push_back("/usr/local/cuda/lib64/libcublasLt.so.13");
  return names;
}

template <typename F> bool bind(void *library, const char *name, F &out) {
  out = reinterpret_cast<F>(dlsym(library, name));
  return out != nullptr;
}

/// The largest power of two (<= 16) dividing the address and the batch
/// stride in bytes: what every batch's pointer is aligned to.
uint32_t alignmentOf(const void *p, int64_t strideElements, size_t element) {
  uint64_t bits = uint64_t(reinterpret_cast<uintptr_t>(p)) | uint64_t(strideElements) * element | 16;
  return uint32_t(bits & (~bits + 1));
}

} // namespace

CublasLt &CublasLt::instance() {
  static CublasLt lt;
  return lt;
}

CublasLt::CublasLt() {
  if (const char *off = std::getenv("OFF_CUBLASLT"); off && std::string(off) == "none") {
    where_ = "not used (OFF_CUBLASLT=none)";
    return;
  }
  std::string tried;
  for (const std::string &name : candidates()) {
    library_ = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_) {
      where_ = name;
      break;
    }
    tried += (tried.empty() ? "" : ", ") + name;
  }
  if (!library_) {
    where_ = "not found (tried " + tried + ")";
    return;
  }
  auto *api = new Api;
  bool ok = bind(library_, "cublasLtCreate", api->create) &&
            bind(library_, "cublasLtMatmulDescCreate", api->descCreate) &&
            bind(library_, "cublasLtMatmulDescDestroy", api->descDestroy) &&
            bind(library_, "cublasLtMatmulDescSetAttribute", api->descSet) &&
            bind(library_, "cublasLtMatrixLayoutCreate", api->layoutCreate) &&
            bind(library_, "cublasLtMatrixLayoutDestroy", api->layoutDestroy) &&
            bind(library_, "cublasLtMatrixLayoutSetAttribute", api->layoutSet) &&
            bind(library_, "cublasLtMatmulPreferenceCreate", api->prefCreate) &&
            bind(library_, "cublasLtMatmulPreferenceDestroy", api->prefDestroy) &&
            bind(library_, "cublasLtMatmulPreferenceSetAttribute", api->prefSet) &&
            bind(library_, "cublasLtMatmulAlgoGetHeuristic", api->heuristic) &&
            bind(library_, "cublasLtMatmul", api->matmul);
  cublasLtHandle_t handle = nullptr;
  if (!ok || api->create(&handle) != CUBLAS_STATUS_SUCCESS) {
    where_ += ok ? ": cublasLtCreate failed" : ": a symbol is missing";
    delete api;
    return;
  }
  api_ = api;
  handle_ = handle;
}

bool CublasLt::gemm(bool bf16, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                    const void *A, int64_t strideA, const void *B, int64_t strideB, void *C,
                    int64_t strideC, int64_t batch, void *workspace, uint64_t workspaceBytes,
                    cudaStream_t stream) {
  if (!handle_)
    return false;
  // Row-major C (M x N) is column-major C^T (N x M) = op(B)^T op(A)^T: the
  // first operand is B's storage, the second A's.
  const Api &api = *api_;
  cublasOperation_t opFirst = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opSecond = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t lb = nullptr, la = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  bool done = false;
  auto layout = [&](cublasLtMatrixLayout_t &l, uint64_t rows, uint64_t cols, int64_t ld,
                    int64_t stride) {
    if (api.layoutCreate(&l, bf16 ? CUDA_R_16BF : CUDA_R_32F, rows, cols, ld) !=
        CUBLAS_STATUS_SUCCESS)
      return false;
    int32_t count = int32_t(batch);
    return api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count) ==
               CUBLAS_STATUS_SUCCESS &&
           api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                         sizeof stride) == CUBLAS_STATUS_SUCCESS;
  };
  do {
    if (api.descCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS)
      break;
    if (api.descSet(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opFirst, sizeof opFirst) ||
        api.descSet(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opSecond, sizeof opSecond))
      break;
    bool ok = (transB ? layout(lb, uint64_t(K), uint64_t(N), K, strideB)
                      : layout(lb, uint64_t(N), uint64_t(K), N, strideB)) &&
              (transA ? layout(la, uint64_t(M), uint64_t(K), M, strideA)
                      : layout(la, uint64_t(K), uint64_t(M), K, strideA)) &&
              layout(lc, uint64_t(N), uint64_t(M), N, strideC);
    if (!ok || api.prefCreate(&pref) != CUBLAS_STATUS_SUCCESS)
      break;
    uint64_t bytes = workspace ? workspaceBytes : 0;
    uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_NONE; // no timing-dependent split-K sums
    if (api.prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &bytes, sizeof bytes) ||
        api.prefSet(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &scheme, sizeof scheme))
      break;
    // The heuristic assumes 256-byte aligned operands unless told: a tensor
    // of a plan's arena (64-byte aligned), or one batch of a broadcast
    // operand, may be less. Capped at 16 (the widest vector access), the
    // alignment follows from the shapes alone where buffers are 16-byte
    // aligned: the same algorithm, so the same bits, at any placement.
    size_t element = bf16 ? 2 : 4;
    uint32_t alignFirst = alignmentOf(B, strideB, element),
             alignSecond = alignmentOf(A, strideA, element),
             alignC = alignmentOf(C, strideC, element);
    if (api.prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignFirst,
                    sizeof alignFirst) ||
        api.prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignSecond,
                    sizeof alignSecond) ||
        api.prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignC, sizeof alignC) ||
        api.prefSet(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignC, sizeof alignC))
      break;
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    auto *h = static_cast<cublasLtHandle_t>(handle_);
    if (api.heuristic(h, desc, lb, la, lc, lc, pref, 1, &result, &found) !=
            CUBLAS_STATUS_SUCCESS ||
        found == 0)
      break;
    float alpha = 1.0f, beta = 0.0f;
    done = api.matmul(h, desc, &alpha, B, lb, A, la, &beta, C, lc, C, lc, &result.algo,
                      workspace, bytes, stream) == CUBLAS_STATUS_SUCCESS;
  } while (false);
  if (pref)
    api.prefDestroy(pref);
  if (lc)
    api.layoutDestroy(lc);
  if (la)
    api.layoutDestroy(la);
  if (lb)
    api.layoutDestroy(lb);
  if (desc)
    api.descDestroy(desc);
  return done;
}

} // namespace off::cuda
