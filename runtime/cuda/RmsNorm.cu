// rms_norm forward and backward on the GPU, one block per row, sums in
// double in a fixed order. The weight gradient is a sum over rows: one
// thread per column adds the rows in order (deterministic), reading each
// row's 1/rms from a stash in the first element of that row of grad_input,
// which the last kernel then overwrites with the row's gradient.
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

using detail::blockSum;
constexpr int kRowThreads = 256;

unsigned rowGrid(int64_t rows) { return unsigned(rows < 65535 ? rows : 65535); }

__device__ inline float rowRstd(const float *x, int64_t C, double eps, double *shared) {
  double sum = 0.0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
    sum += double(x[c]) * double(x[c]);
  sum = blockSum(sum, shared);
  return float(1.0 / sqrt(sum / double(C) + eps));
}

__global__ void rmsNormKernel(const float *x, const float *w, float *y, int64_t rows,
                              int64_t C, double eps) {
  __shared__ double shared[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float *in = x + row * C;
    float r = rowRstd(in, C, eps, shared);
    float *out = y + row * C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      out[c] = w[c] * (in[c] * r);
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

void launchRmsNorm(const float *x, const float *w, float *y, int64_t rows, int64_t C,
                   double eps, cudaStream_t s) {
  if (rows == 0 || C == 0)
    return;
  rmsNormKernel<<<rowGrid(rows), kRowThreads, 0, s>>>(x, w, y, rows, C, eps);
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
