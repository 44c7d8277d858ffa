// Element-wise kernels: unary and broadcasting binary arithmetic, swiglu
// forward and backward, casts. One thread per element (grid-stride); the
// arithmetic is the CPU backend's, operation for operation (the library is
// built with --fmad=false, so no mul+add becomes an fma the CPU lacks).
// The arithmetic ops are templates on the storage type T of all their
// operands (float, or uint16_t holding bf16): bf16 is loaded as its exact
// f32 value and each result rounded once on store, so a bf16 result has the
// bits of the f32 kernel's on the widened inputs, rounded (CudaWiden.cpp's
// rule, without the copies).
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

using detail::loadF;
using detail::storeF;

template <typename T> __global__ void unaryKernel(UnaryKind op, const T *x, T *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    storeF(y, i, unaryOp(op, loadF(x, i)));
}

template <typename T>
__global__ void binaryKernel(BinaryKind op, const T *a, IndexMap am, const T *b, IndexMap bm,
                             T *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float l = loadF(a, detail::mapIndex(am, i)), r = loadF(b, detail::mapIndex(bm, i));
    float v;
    switch (op) {
    case BinaryKind::Add: v = l + r; break;
    case BinaryKind::Sub: v = l - r; break;
    case BinaryKind::Mul: v = l * r; break;
    default: v = l / r; break;
    }
    storeF(y, i, v);
  }
}

template <typename T> __global__ void swigluKernel(const T *gate, const T *up, T *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float g = loadF(gate, i), u = loadF(up, i);
    float e = expf(-g);
    storeF(y, i, (g / (1.0f + e)) * u);
  }
}

template <typename T>
__global__ void swigluGradKernel(const T *gate, const T *up, const T *dy, T *dgate, T *dup,
                                 int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float g = loadF(gate, i), u = loadF(up, i), d = loadF(dy, i);
    float e = expf(-g);
    float silu = g / (1.0f + e);
    float s = 1.0f / (1.0f + e);
    // Both read before either is written: dgate or dup may be an input.
    float du = d * silu, dg = ((d * u) * s) * (1.0f + g * (1.0f - s));
    storeF(dup, i, du);
    storeF(dgate, i, dg);
  }
}

/// Runs f with the storage type: uint16_t (bf16 bits) or float.
template <typename F> void byType(bool bf16, F &&f) {
  if (bf16)
    f(uint16_t{});
  else
    f(float{});
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

void launchUnary(UnaryKind op, bool bf16, const void *x, void *y, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  byType(bf16, [&](auto t) {
    using T = decltype(t);
    unaryKernel<<<blocksFor(n), kThreads, 0, s>>>(op, static_cast<const T *>(x),
                                                  static_cast<T *>(y), n);
  });
  detail::checkLaunch("unary");
}

void launchBinary(BinaryKind op, bool bf16, const void *lhs, const IndexMap &lmap,
                  const void *rhs, const IndexMap &rmap, void *y, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  byType(bf16, [&](auto t) {
    using T = decltype(t);
    binaryKernel<<<blocksFor(n), kThreads, 0, s>>>(op, static_cast<const T *>(lhs), lmap,
                                                   static_cast<const T *>(rhs), rmap,
                                                   static_cast<T *>(y), n);
  });
  detail::checkLaunch("binary");
}

void launchSwiglu(bool bf16, const void *gate, const void *up, void *y, int64_t n,
                  cudaStream_t s) {
  if (n == 0)
    return;
  byType(bf16, [&](auto t) {
    using T = decltype(t);
    swigluKernel<<<blocksFor(n), kThreads, 0, s>>>(static_cast<const T *>(gate),
                                                   static_cast<const T *>(up),
                                                   static_cast<T *>(y), n);
  });
  detail::checkLaunch("swiglu");
}

void launchSwigluGrad(bool bf16, const void *gate, const void *up, const void *dy, void *dgate,
                      void *dup, int64_t n, cudaStream_t s) {
  if (n == 0)
    return;
  byType(bf16, [&](auto t) {
    using T = decltype(t);
    swigluGradKernel<<<blocksFor(n), kThreads, 0, s>>>(
        static_cast<const T *>(gate), static_cast<const T *>(up), static_cast<const T *>(dy),
        static_cast<T *>(dgate), static_cast<T *>(dup), n);
  });
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
