// Internal: the per-row softmax arithmetic shared by softmax, cross_entropy
// and attention, so that every kernel (and a recomputation in a backward
// kernel) rounds the same way.
#pragma once

#include "runtime/cpu/Dot.h"
#include "runtime/cpu/Exp.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace off::cpu::detail {

/// Largest of x[0 .. n): maxLanes (Dot.h). A row holding a NaN gives NaNs
/// after the exp(x - max) that follows, whether or not the max is NaN.
inline float rowMax(const float *x, int64_t n) { return maxLanes(x, n); }

/// e[i] = exp(x[i] - max) for i < n (Exp.h; e may be x); returns the sum of
/// the e[i] as sumLanes (Dot.h: double, 8 lanes).
inline double expShifted(const float *x, float max, float *e, int64_t n) {
  expAffine(x, 1.0f, max, e, n);
  return sumLanes(e, n);
}

} // namespace off::cpu::detail
