// Element-wise kernels: unary and broadcasting binary arithmetic, swiglu
// forward and backward, casts. One thread per element (grid-stride); the
// arithmetic is the CPU backend's, operation for operation (the library is
// built with --fmad=false, so no mul+add becomes an fma the CPU lacks).
#include "runtime/cuda/KernelsCommon.cuh"

#include <cuda_bf16.h>

namespace off::cuda {
namespace {

using detail::blocksFor;
using detail::kThreads;

__device__ inline float unaryOp(UnaryKind op, float x) {
  switch (op) {
  case UnaryKind::Neg: return -x;
  case UnaryKind::Exp: return expf(x);
  case UnaryKind::Sqrt: return sqrtf(x);
  case UnaryKind::Rsqrt: return 1.0f / sqrtf(x);
  case UnaryKind::Silu: return x / (1.0f + expf(-x));
  case UnaryKind::Sigmoid: return 1.0f / (1.0f + expf(-x));
  }
  return x;
}

__global__ void unaryKernel(UnaryKind op, const float *x, float *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = unaryOp(op, x[i]);
}

__global__ void binaryKernel(BinaryKind op, const float *a, IndexMap am, const float *b,
                             IndexMap bm, float *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float l = a[detail::mapIndex(am, i)], r = b[detail::mapIndex(bm, i)];
    float v;
    switch (op) {
    case BinaryKind::Add: v = l + r; break;
    case BinaryKind::Sub: v = l - r; break;
    case BinaryKind::Mul: v = l * r; break;
    default: v = l / r; break;
    }
    y[i] = v;
  }
}

__global__ void swigluKernel(const float *gate, const float *up, float *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float e = expf(-gate[i]);
    y[i] = (gate[i] / (1.0f + e)) * up[i];
  }
}

__global__ void swigluGradKernel(const float *gate, const float *up, const float *dy,
                                 float *dgate, float *dup, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float g = gate[i], u = up[i], d = dy[i];
    float e = expf(-g);
    float silu = g / (1.0f + e);
    float s = 1.0f / (1.0f + e);
    dup[i] = d * silu;
    dgate[i] = ((d * u) * s) * (1.0f + g * (1.0f - s));
  }
}

using detail::toBf16;

template <typename From, typename To> __device__ inline To convert(From x) { return To(x); }

template <int F, int T> __global__ void castKernel(const void *xv, void *yv, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (F == 0 && T == 1)
      static_cast<uint16_t *>(yv)[i] = toBf16(static_cast<const float *>(xv)[i]);
    else if constexpr (F == 1 && T == 0)
      static_cast<float *>(yv)[i] = detail::fromBf16(static_cast<const uint16_t *>(xv)[i]);
    else if constexpr (F == 2 && T == 3)
      static_cast<int64_t *>(yv)[i] = static_cast<const int32_t *>(xv)[i];
    else if constexpr (F == 3 && T == 2)
      static_cast<int32_t *>(yv)[i] = int32_t(static_cast<const int64_t *>(xv)[i]);
    else if constexpr (F == 2 && T == 0)
      static_cast<float *>(yv)[i] = float(static_cast<const int32_t *>(xv)[i]);
    else if constexpr (F == 3 && T == 0)
      static_cast<float *>(yv)[i] = float(static_cast<const int64_t *>(xv)[i]);
  }
}

} // namespace

void launchUnary(UnaryKind op, const float *x, float *y, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  unaryKernel<<<blocksFor(n), kThreads, 0, s>>>(op, x, y, n);
  detail::checkLaunch("unary");
}

void launchBinary(BinaryKind op, const float *lhs, const IndexMap &lmap, const float *rhs,
                  const IndexMap &rmap, float *y, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  binaryKernel<<<blocksFor(n), kThreads, 0, s>>>(op, lhs, lmap, rhs, rmap, y, n);
  detail::checkLaunch("binary");
}

void launchSwiglu(const float *gate, const float *up, float *y, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  swigluKernel<<<blocksFor(n), kThreads, 0, s>>>(gate, up, y, n);
  detail::checkLaunch("swiglu");
}

void launchSwigluGrad(const float *gate, const float *up, const float *dy, float *dgate,
                      float *dup, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  swigluGradKernel<<<blocksFor(n), kThreads, 0, s>>>(gate, up, dy, dgate, dup, n);
  detail::checkLaunch("swiglu_grad");
}

void launchCast(int from, int to, const void *x, void *y, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  unsigned g = blocksFor(n);
  switch (from * 4 + to) {
  case 0 * 4 + 1: castKernel<0, 1><<<g, kThreads, 0, s>>>(x, y, n); break;
  case 1 * 4 + 0: castKernel<1, 0><<<g, kThreads, 0, s>>>(x, y, n); break;
  case 2 * 4 + 3: castKernel<2, 3><<<g, kThreads, 0, s>>>(x, y, n); break;
  case 3 * 4 + 2: castKernel<3, 2><<<g, kThreads, 0, s>>>(x, y, n); break;
  case 2 * 4 + 0: castKernel<2, 0><<<g, kThreads, 0, s>>>(x, y, n); break;
  case 3 * 4 + 0: castKernel<3, 0><<<g, kThreads, 0, s>>>(x, y, n); break;
  default: throw std::invalid_argument("cast: this pair of dtypes has no CUDA kernel");
  }
  detail::checkLaunch("cast");
}

} // namespace off::cuda
