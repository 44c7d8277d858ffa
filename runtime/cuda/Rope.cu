// rope and rope_grad on the GPU: rows (b, h, t) of D values, the two halves
// rotated by the position's cos/sin, as the CPU kernel. One thread per pair
// (d, d + D/2), which reads both before writing: in place is safe.
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

__global__ void ropeKernel(const float *x, const float *cos, const float *sin, float *y,
                           int64_t rows, int64_t T, int64_t D, bool backward) {
  int64_t half = D / 2, n = rows * half;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t row = i / half, d = i % half, t = row % T;
    const float *in = x + row * D, *c = cos + t * D, *s = sin + t * D;
    float lo = in[d], hi = in[d + half];
    float *out = y + row * D;
    if (!backward) {
      out[d] = lo * c[d] + (-hi) * s[d];
      out[d + half] = hi * c[d + half] + lo * s[d + half];
    } else {
      out[d] = lo * c[d] + hi * s[d + half];
      out[d + half] = hi * c[d + half] - lo * s[d];
    }
  }
}

} // namespace

void launchRope(const float *x, const float *cos, const float *sin, float *y, int64_t rows,
                int64_t T, int64_t D, bool backward, cudaStream_t s) {
  int64_t n = rows * (D / 2);
  if (n == 0)
    return;
  ropeKernel<<<detail::blocksFor(n), detail::kThreads, 0, s>>>(x, cos, sin, y, rows, T, D,
                                                               backward);
  detail::checkLaunch(backward ? "rope_grad" : "rope");
}

} // namespace off::cuda
