#include "runtime/cpu/CrossEntropy.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/RowMath.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace off::cpu {

namespace {
template <typename Index> void checkTargets(const Index *targets, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n)
    if (targets[n] < 0 || int64_t(targets[n]) >= V)
      throw std::out_of_range("target " + std::to_string(int64_t(targets[n])) +
                              " at position " + std::to_string(n) +
                              " is outside the vocabulary [0, " + std::to_string(V) + ")");
}

} // namespace

template <typename Index>
float crossEntropyForward(const float *logits, const Index *targets, int64_t N, int64_t V,
                          void *scratch) {
  checkTargets(targets, N, V);
  double *rowLoss = static_cast<double *>(scratch);
  float *rows = reinterpret_cast<float *>(rowLoss + N);
  parallelSlots(N, 10 * V, [&](int64_t begin, int64_t end, int64_t slot) {
    float *e = rows + slot * V;
    for (int64_t n = begin; n < end; ++n) {
      const float *x = logits + n * V;
      float max = detail::rowMax(x, V);
      double logSumExp = double(max) + std::log(detail::expShifted(x, max, e, V));
      rowLoss[n] = logSumExp - double(x[int64_t(targets[n])]);
    }
  });
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n)
    total += rowLoss[n];
  return float(total / double(N));
}

template <typename Index>
void crossEntropyBackward(const float *logits, const Index *targets, float dloss,
                          float *dlogits, int64_t N, int64_t V) {
  checkTargets(targets, N, V);
  float scale = float(double(dloss) / double(N));
  parallelRange(N, 12 * V, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float *x = logits + n * V;
      float *dx = dlogits + n * V;
      float max = detail::rowMax(x, V);
      double sum = detail::expShifted(x, max, dx, V); // dx holds exp(x - max)
      float inv = float(1.0 / sum);
      int64_t t = int64_t(targets[n]);
      float target = dx[t]; // exp(x[t] - max), before the loop scales it
      for (int64_t v = 0; v < V; ++v)
        dx[v] = (dx[v] * inv) * scale;
      dx[t] = ((target * inv) - 1.0f) * scale; // the one-hot
    }
  });
}

template float crossEntropyForward<int32_t>(const float *, const int32_t *, int64_t, int64_t,
                                           void *);
template float crossEntropyForward<int64_t>(const float *, const int64_t *, int64_t, int64_t,
                                           void *);
template void crossEntropyBackward<int32_t>(const float *, const int32_t *, float, float *,
                                            int64_t, int64_t);
template void crossEntropyBackward<int64_t>(const float *, const int64_t *, float, float *,
                                            int64_t, int64_t);

} // namespace off::cpu
