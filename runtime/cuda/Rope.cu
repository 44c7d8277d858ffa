// rope and rope_grad on the GPU: rows (b, h, t) of D values, the two halves
// rotated by the position's cos/sin, as the CPU kernel. One thread per pair
// (d, d + D/2), which reads both before writing: in place is safe. T: x and
// y (f32 or bf16 bits), C: cos and sin; f32 arithmetic, y rounded once.
//
// The f32 rows also back rope(_grad) on bf16 of other mixes (CudaWiden.cpp).
#include "runtime/cuda/KernelsCommon.cuh"

#include <type_traits>

namespace off::cuda {
namespace {

template <typename X, typename C>
__global__ void ropeKernel(const X *x, const C *cos, const C *sin, X *y, int64_t rows,
                           int64_t T, int64_t D, bool backward) {
  using detail::loadF;
  int64_t half = D / 2, n = rows * half;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t row = i / half, d = i % half, t = row % T;
    const X *in = x + row * D;
    const C *c = cos + t * D, *s = sin + t * D;
    float lo = loadF(in, d), hi = loadF(in, d + half);
    X *out = y + row * D;
    float first, second;
    if (!backward) {
      first = lo * loadF(c, d) + (-hi) * loadF(s, d);
      second = hi * loadF(c, d + half) + lo * loadF(s, d + half);
    } else {
      first = lo * loadF(c, d) + hi * loadF(s, d + half);
      second = hi * loadF(c, d + half) - lo * loadF(s, d);
    }
    detail::storeF(out, d, first);
    detail::storeF(out, d + half, second);
  }
}

} // namespace

void launchRope(const void *x, bool xBf16, const void *cos, const void *sin, bool tableBf16,
                void *y, int64_t rows, int64_t T, int64_t D, bool backward, cudaStream_t s) {
  int64_t n = rows * (D / 2);
  if (n == 0)
    return;
  auto launch = [&](auto *xt, auto *ct) {
    using X = std::remove_const_t<std::remove_pointer_t<decltype(xt)>>;
    using Ct = std::remove_const_t<std::remove_pointer_t<decltype(ct)>>;
    ropeKernel<<<detail::blocksFor(n), detail::kThreads, 0, s>>>(
        xt, ct, static_cast<const Ct *>(sin), static_cast<X *>(y), rows, T, D, backward);
  };
  auto withTable = [&](auto *xt) {
    if (tableBf16)
      launch(xt, static_cast<const uint16_t *>(cos));
    else
      launch(xt, static_cast<const float *>(cos));
  };
  if (xBf16)
    withTable(static_cast<const uint16_t *>(x));
  else
    withTable(static_cast<const float *>(x));
  detail::checkLaunch(backward ? "rope_grad" : "rope");
}

} // namespace off::cuda
