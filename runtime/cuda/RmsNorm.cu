// rms_norm forward and backward on the GPU, one block per row, sums in
// double in a fixed order. The weight gradient is a sum over rows: one
// thread per column adds the rows in order (deterministic), reading each
// row's 1/rms from a stash in the first element of that row of grad_input,
// which the last kernel then overwrites with the row's gradient.
#include "runtime/cuda/KernelsCommon.cuh"

#include <type_traits>

namespace off::cuda {
namespace {

using detail::blockSum;
constexpr int kRowThreads = 256;

unsigned rowGrid(int64_t rows) { return unsigned(rows < 65535 ? rows : 65535); }

template <typename T>
__device__ inline float rowRstd(const T *x, int64_t C, double eps, double *shared) {
  double sum = 0.0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    double v = detail::loadF(x, c);
    sum += v * v;
  }
  sum = blockSum(sum, shared);
  return float(1.0 / sqrt(sum / double(C) + eps));
}

// T: x and y (f32 or bf16 bits), W: the weight; f32 arithmetic, y rounded
// once (the f32 kernel's bits on widened inputs, rounded).
template <typename T, typename W>
__global__ void rmsNormKernel(const T *x, const W *w, T *y, int64_t rows, int64_t C,
                              double eps) {
  __shared__ double shared[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T *in = x + row * C;
    float r = rowRstd(in, C, eps, shared);
    T *out = y + row * C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      detail::storeF(out, c, detail::loadF(w, c) * (detail::loadF(in, c) * r));
  }
}

__global__ void rstdStashKernel(const float *x, float *dx, int64_t rows, int64_t C,
                                double eps) {
  __shared__ double shared[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    float r = rowRstd(x + row * C, C, eps, shared);
    if (threadIdx.x == 0)
      dx[row * C] = r;
  }
}

__global__ void weightGradKernel(const float *x, const float *dy, const float *stash,
                                 float *dw, int64_t rows, int64_t C) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    double acc = 0.0;
    for (int64_t row = 0; row < rows; ++row)
      acc += double(dy[row * C + c]) * double(x[row * C + c] * stash[row * C]);
    dw[c] = float(acc);
  }
}

__global__ void inputGradKernel(const float *x, const float *w, const float *dy, float *dx,
                                int64_t rows, int64_t C) {
  __shared__ double shared[32];
  __shared__ float rShared;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float *in = x + row * C, *g = dy + row * C;
    float *out = dx + row * C;
    if (threadIdx.x == 0)
      rShared = out[0]; // the stash
    __syncthreads();
    float r = rShared;
    double dot = 0.0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      dot += double(g[c] * w[c]) * double(in[c] * r);
    float m = float(blockSum(dot, shared) / double(C)); // blockSum syncs: stash read by all
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      float xhat = in[c] * r;
      out[c] = r * ((g[c] * w[c]) - xhat * m);
    }
    __syncthreads();
  }
}

} // namespace

void launchRmsNorm(const void *x, bool xBf16, const void *w, bool wBf16, void *y, int64_t rows,
                   int64_t C, double eps, cudaStream_t s) {
  if (rows == 0 || C == 0)
    return;
  auto launch = [&](auto *xt, auto *wt) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(xt)>>;
    rmsNormKernel<<<rowGrid(rows), kRowThreads, 0, s>>>(xt, wt, static_cast<T *>(y), rows, C,
                                                        eps);
  };
  auto withWeight = [&](auto *xt) {
    if (wBf16)
      launch(xt, static_cast<const uint16_t *>(w));
    else
      launch(xt, static_cast<const float *>(w));
  };
  if (xBf16)
    withWeight(static_cast<const uint16_t *>(x));
  else
    withWeight(static_cast<const float *>(x));
  detail::checkLaunch("rms_norm");
}

void launchRmsNormGrad(const float *x, const float *w, const float *dy, float *dx, float *dw,
                       int64_t rows, int64_t C, double eps, cudaStream_t s) {
  if (C == 0)
    return;
  if (rows == 0) {
    cudaMemsetAsync(dw, 0, size_t(C) * sizeof(float), s);
    return;
  }
  rstdStashKernel<<<rowGrid(rows), kRowThreads, 0, s>>>(x, dx, rows, C, eps);
  weightGradKernel<<<detail::blocksFor(C, 128), 128, 0, s>>>(x, dy, dx, dw, rows, C);
  inputGradKernel<<<rowGrid(rows), kRowThreads, 0, s>>>(x, w, dy, dx, rows, C);
  detail::checkLaunch("rms_norm_grad");
}

} // namespace off::cuda
