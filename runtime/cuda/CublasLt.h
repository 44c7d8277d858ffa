// cuBLASLt, opened at run time (dlopen) when the library is there: offrt
// links only the CUDA runtime (statically) and needs nothing but the driver;
// where libcublasLt.so.13 can be found (LD_LIBRARY_PATH, the CUDA toolkit,
// a PyTorch install's nvidia/cublas/lib, or OFF_CUBLASLT=/path/to/lib) matrix
// products go through it, else through our own GEMM (CudaKernels.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

namespace off::cuda {

class CublasLt {
public:
  /// The process's instance; loaded on first use. available() says whether
  /// the library was found, where() from where (or why not).
  static CublasLt &instance();

  bool available() const { return handle_ != nullptr; }
  const std::string &where() const { return where_; }

  /// Row-major fp32 C[b] = op(A[b]) op(B[b]) (shapes as launchSgemm), batch
  /// strides in elements, FP32 compute (no TF32). `workspace` may be empty.
  /// Deterministic: no split-K reduction that depends on timing. Returns
  /// false (nothing enqueued) when cuBLASLt has no algorithm for it.
  bool sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float *A,
             int64_t strideA, const float *B, int64_t strideB, float *C, int64_t strideC,
             int64_t batch, void *workspace, uint64_t workspaceBytes, cudaStream_t stream) {
    return gemm(false, transA, transB, M, N, K, A, strideA, B, strideB, C, strideC, batch,
                workspace, workspaceBytes, stream);
  }
  /// The same with A, B and C all bf16 (bf16 == true) or all f32: FP32
  /// compute and accumulation either way, C rounded once to bf16.
  bool gemm(bool bf16, bool transA, bool transB, int64_t M, int64_t N, int64_t K, const void *A,
            int64_t strideA, const void *B, int64_t strideB, void *C, int64_t strideC,
            int64_t batch, void *workspace, uint64_t workspaceBytes, cudaStream_t stream);

private:
  CublasLt();
  struct Api;
  Api *api_ = nullptr;
  void *library_ = nullptr;
  void *handle_ = nullptr; // cublasLtHandle_t
  std::string where_;
};

} // namespace off::cuda
