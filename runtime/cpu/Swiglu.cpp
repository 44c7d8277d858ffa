#include "runtime/cpu/Swiglu.h"

#include "runtime/cpu/CpuParallel.h"

#include "runtime/cpu/Exp.h"

#include <algorithm>

namespace off::cpu {

// exp(-gate) for a chunk at a time (the vectorised Exp.h), then the
// element-wise rest, which the compiler vectorises without reassociation.
constexpr int64_t kChunk = 256;

void swigluForward(const float *gate, const float *up, float *y, int64_t N) {
  parallelRange(N, 8, [&](int64_t begin, int64_t end) {
    float e[kChunk];
    for (int64_t c = begin; c < end; c += kChunk) {
      int64_t n = std::min(kChunk, end - c);
      expAffine(gate + c, -1.0f, 0.0f, e, n);
      for (int64_t i = 0; i < n; ++i)
        y[c + i] = (gate[c + i] / (1.0f + e[i])) * up[c + i];
    }
  });
}

void swigluBackward(const float *gate, const float *up, const float *dy, float *dgate,
                    float *dup, int64_t N) {
  parallelRange(N, 12, [&](int64_t begin, int64_t end) {
    float e[kChunk];
    for (int64_t c = begin; c < end; c += kChunk) {
      int64_t n = std::min(kChunk, end - c);
      expAffine(gate + c, -1.0f, 0.0f, e, n);
      for (int64_t i = 0; i < n; ++i) {
        float g = gate[c + i], u = up[c + i], d = dy[c + i];
        float silu = g / (1.0f + e[i]);
        float s = 1.0f / (1.0f + e[i]);
        dup[c + i] = d * silu;
        dgate[c + i] = ((d * u) * s) * (1.0f + g * (1.0f - s));
      }
    }
  });
}

} // namespace off::cpu
