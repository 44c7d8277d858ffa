#include "runtime/cpu/Rope.h"

#include "runtime/cpu/CpuParallel.h"

namespace off::cpu {

// Rows are (b, h, t); each row reads its own D values only, so in-place use
// is safe: the two halves are read into registers before either is written.
void ropeForward(const float *x, const float *cos, const float *sin, float *y, int64_t B,
                 int64_t H, int64_t T, int64_t D) {
  int64_t half = D / 2;
  parallelRange(B * H * T, 3 * D, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      int64_t t = row % T;
      const float *in = x + row * D, *c = cos + t * D, *s = sin + t * D;
      float *out = y + row * D;
      for (int64_t d = 0; d < half; ++d) {
        float lo = in[d], hi = in[d + half];
        out[d] = lo * c[d] + (-hi) * s[d];
        out[d + half] = hi * c[d + half] + lo * s[d + half];
      }
    }
  });
}

void ropeBackward(const float *dy, const float *cos, const float *sin, float *dx, int64_t B,
                  int64_t H, int64_t T, int64_t D) {
  int64_t half = D / 2;
  parallelRange(B * H * T, 4 * D, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      int64_t t = row % T;
      const float *g = dy + row * D, *c = cos + t * D, *s = sin + t * D;
      float *out = dx + row * D;
      for (int64_t d = 0; d < half; ++d) {
        float lo = g[d], hi = g[d + half];
        out[d] = lo * c[d] + hi * s[d + half];
        out[d + half] = hi * c[d + half] - lo * s[d];
      }
    }
  });
}

} // namespace off::cpu
