// Internal: the per-row softmax arithmetic shared by softmax, cross_entropy
// and attention, so that every kernel (and a recomputation in a backward
// kernel) rounds the same way.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace off::cpu::detail {

/// Largest of x[0 .. n) (stride 1); -inf for n == 0; NaN if any is NaN.
inline float rowMax(const float *x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i)
    m = (x[i] > m || std::isnan(x[i])) ? x[i] : m;
  return m;
}

/// e[i] = exp(x[i] - max) for i < n (e may be x); returns the sum of the e[i]
/// accumulated in double, in index order.
inline double expShifted(const float *x, float max, float *e, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    e[i] = std::exp(x[i] - max);
    sum += double(e[i]);
  }
  return sum;
}

} // namespace off::cpu::detail
