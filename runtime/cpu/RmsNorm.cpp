#include "runtime/cpu/RmsNorm.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Dot.h"

#include <algorithm>
#include <cmath>

namespace off::cpu {

float rmsNormRstd(const float *x, int64_t C, double eps) {
  double meanSquare = dotLanes(x, x, C) / double(C);
  return float(1.0 / std::sqrt(meanSquare + eps));
}

void rmsNormForward(const float *x, const float *weight, float *y, int64_t R, int64_t C,
                    double eps) {
  parallelRange(R, 4 * C, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float *in = x + row * C;
      float *out = y + row * C;
      float r = rmsNormRstd(in, C, eps);
      for (int64_t c = 0; c < C; ++c)
        out[c] = weight[c] * (in[c] * r);
    }
  });
}

void rmsNormBackward(const float *x, const float *weight, const float *dy, float *dx,
                     float *dweight, int64_t R, int64_t C, double eps, float *scratch) {
  float *rstd = scratch;
  // dx, row by row.
  parallelSlots(R, 10 * C, [&](int64_t begin, int64_t end, int64_t slot) {
    float *xhat = scratch + R + slot * 2 * C, *g = xhat + C;
    for (int64_t row = begin; row < end; ++row) {
      const float *in = x + row * C, *grad = dy + row * C;
      float r = rmsNormRstd(in, C, eps);
      rstd[row] = r;
      for (int64_t c = 0; c < C; ++c) {
        xhat[c] = in[c] * r;
        g[c] = grad[c] * weight[c];
      }
      float m = float(dotLanes(g, xhat, C) / double(C));
      float *out = dx + row * C;
      for (int64_t c = 0; c < C; ++c)
        out[c] = r * (g[c] - xhat[c] * m);
    }
  });
  // dweight, column block by column block, rows in order.
  constexpr int64_t kColumns = 64;
  int64_t blocks = (C + kColumns - 1) / kColumns;
  parallelRange(blocks, 3 * R * kColumns, [&](int64_t begin, int64_t end) {
    double acc[kColumns];
    for (int64_t b = begin; b < end; ++b) {
      int64_t c0 = b * kColumns, n = std::min(kColumns, C - c0);
      std::fill(acc, acc + n, 0.0);
      for (int64_t row = 0; row < R; ++row) {
        const float *in = x + row * C + c0, *grad = dy + row * C + c0;
        float r = rstd[row];
        for (int64_t j = 0; j < n; ++j)
          acc[j] += double(grad[j]) * double(in[j] * r);
      }
      for (int64_t j = 0; j < n; ++j)
        dweight[c0 + j] = float(acc[j]);
    }
  });
}

} // namespace off::cpu
