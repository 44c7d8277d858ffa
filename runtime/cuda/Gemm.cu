// Our own fp32 GEMM: the fallback when cuBLASLt cannot be loaded (a machine
// with only the driver) and the deterministic reference. 64 x 64 tiles of C
// per block of 256 threads, each computing a 4 x 4 patch, K in steps of 16
// through shared memory; every element's sum runs over k in order.
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

constexpr int kTile = 64, kStep = 16;

__global__ void sgemmKernel(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                            const float *A, int64_t strideA, const float *B, int64_t strideB,
                            float *C, int64_t strideC) {
  __shared__ float As[kStep][kTile + 1];
  __shared__ float Bs[kStep][kTile + 1];
  int64_t batch = blockIdx.z;
  A += batch * strideA;
  B += batch * strideB;
  C += batch * strideC;
  int64_t row0 = int64_t(blockIdx.y) * kTile, col0 = int64_t(blockIdx.x) * kTile;
  int tr = threadIdx.x / 16, tc = threadIdx.x % 16;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kStep) {
    for (int e = threadIdx.x; e < kStep * kTile; e += blockDim.x) {
      int kk = e / kTile, i = e % kTile;
      int64_t r = row0 + i, k = k0 + kk, c = col0 + i;
      As[kk][i] = (r < M && k < K) ? (transA ? A[k * M + r] : A[r * K + k]) : 0.0f;
      Bs[kk][i] = (c < N && k < K) ? (transB ? B[c * K + k] : B[k * N + c]) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kStep; ++kk)
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
          acc[i][j] += As[kk][tr * 4 + i] * Bs[kk][tc * 4 + j];
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int64_t r = row0 + tr * 4 + i, c = col0 + tc * 4 + j;
      if (r < M && c < N)
        C[r * N + c] = acc[i][j];
    }
}

} // namespace

void launchSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t strideA, const float *B, int64_t strideB, float *C, int64_t strideC,
                 int64_t batch, cudaStream_t s) {
  if (M == 0 || N == 0 || batch == 0)
    return;
  if (K == 0) {
    for (int64_t b = 0; b < batch; ++b)
      cudaMemsetAsync(C + b * strideC, 0, size_t(M * N) * sizeof(float), s);
    return;
  }
  if (batch > 65535)
    throw std::invalid_argument("matmul: the CUDA GEMM takes at most 65535 batches");
  dim3 grid(unsigned((N + kTile - 1) / kTile), unsigned((M + kTile - 1) / kTile),
            unsigned(batch));
  sgemmKernel<<<grid, 256, 0, s>>>(transA, transB, M, N, K, A, strideA, B, strideB, C, strideC);
  detail::checkLaunch("matmul");
}

} // namespace off::cuda
