// Device helpers shared by the CUDA kernels (nvcc only).
#pragma once

#include "runtime/cuda/CudaKernels.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace off::cuda::detail {

constexpr int kThreads = 256;

inline unsigned blocksFor(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1)
    b = 1;
  return unsigned(b > 65535LL * 1024 ? 65535LL * 1024 : b);
}

/// Throws std::runtime_error naming `what` if the last launch failed.
inline void checkLaunch(const char *what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": kernel launch failed: " +
                             cudaGetErrorString(err));
}

/// bf16 (raw bits) to f32: exact.
__device__ inline float fromBf16(uint16_t bits) { return __uint_as_float(uint32_t(bits) << 16); }

/// f32 to bf16 bits: round to nearest even; any NaN becomes 0x7FC0
/// (runtime/common/Float16.h's floatToBf16, bit for bit).
__device__ inline uint16_t toBf16(float value) {
  uint32_t bits = __float_as_uint(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

/// Element i as f32, from f32 or bf16 storage (uint16_t: bf16 bits).
__device__ inline float loadF(const float *p, int64_t i) { return p[i]; }
__device__ inline float loadF(const uint16_t *p, int64_t i) { return fromBf16(p[i]); }
/// Stores an f32 result into f32 or bf16 storage (rounded once).
__device__ inline void storeF(float *p, int64_t i, float v) { p[i] = v; }
__device__ inline void storeF(uint16_t *p, int64_t i, float v) { p[i] = toBf16(v); }

__device__ inline int64_t mapIndex(const IndexMap &m, int64_t i) {
  int64_t offset = 0;
  for (int d = m.rank - 1; d >= 0; --d) {
    int64_t c = i % m.shape[d];
    i /= m.shape[d];
    offset += c * m.stride[d];
  }
  return offset;
}

/// Records the first data error (code, position, value, limit).
__device__ inline void reportError(int64_t *errors, DeviceError code, int64_t position,
                                   int64_t value, int64_t limit) {
  if (!errors)
    return;
  unsigned long long *slot = reinterpret_cast<unsigned long long *>(errors);
  if (atomicCAS(slot, 0ull, (unsigned long long)code) == 0ull) {
    errors[1] = position;
    errors[2] = value;
    errors[3] = limit;
  }
}

__device__ inline int64_t loadIndex(const void *idx, bool idx64, int64_t i) {
  return idx64 ? static_cast<const int64_t *>(idx)[i]
               : int64_t(static_cast<const int32_t *>(idx)[i]);
}

__device__ inline double warpSum(double v) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline float warpSumF(float v) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Sum over the block in a fixed order (each warp by shuffles, then warp 0
/// over the warps' sums); every thread gets the result. blockDim.x must be a
/// multiple of 32, at most 1024. Uses `shared` (32 doubles).
__device__ inline double blockSum(double v, double *shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  double total = 0.0;
  if (warp == 0) {
    total = lane < warps ? shared[lane] : 0.0;
    total = warpSum(total);
    if (lane == 0)
      shared[0] = total;
  }
  __syncthreads();
  return shared[0];
}

__device__ inline float blockMax(float v, float *shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float m = lane < warps ? shared[lane] : -INFINITY;
    m = warpMax(m);
    if (lane == 0)
      shared[0] = m;
  }
  __syncthreads();
  return shared[0];
}

} // namespace off::cuda::detail
