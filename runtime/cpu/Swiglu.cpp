#include "runtime/cpu/Swiglu.h"

#include "runtime/cpu/CpuParallel.h"

#include <cmath>

namespace off::cpu {

void swigluForward(const float *gate, const float *up, float *y, int64_t N) {
  parallelRange(N, 25, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = gate[i];
      y[i] = (g / (1.0f + std::exp(-g))) * up[i];
    }
  });
}

void swigluBackward(const float *gate, const float *up, const float *dy, float *dgate,
                    float *dup, int64_t N) {
  parallelRange(N, 30, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = gate[i], u = up[i], d = dy[i];
      float e = std::exp(-g);
      float silu = g / (1.0f + e);
      float s = 1.0f / (1.0f + e);
      dup[i] = d * silu;
      dgate[i] = ((d * u) * s) * (1.0f + g * (1.0f - s));
    }
  });
}

} // namespace off::cpu
