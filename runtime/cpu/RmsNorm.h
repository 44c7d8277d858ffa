// RMSNorm over the last dimension, as Hugging Face's LlamaRMSNorm in fp32:
//   y = weight * (x * r),   r = 1 / sqrt(mean(x^2) + eps)
// and its backward (xhat = x * r, g = dy * weight):
//   dx = r * (g - xhat * mean(g * xhat)),   dweight = sum over rows of dy * xhat
//
// Legend: R rows (all leading dimensions of x together), C channels.
//   x [R, C], weight [C], y [R, C], dy [R, C], dx [R, C], dweight [C]
//
// Arithmetic: sum(x^2) and sum(g * xhat) are dotLanes (Dot.h, double, the
// vectorised primitive); r is computed in double and rounded to f32; the
// element-wise parts are single f32 operations; dweight adds the rows in row
// order in double, one column per accumulator, so no result depends on the
// thread count.
#pragma once

#include <cstdint>

namespace off::cpu {

/// r of one row (see above).
float rmsNormRstd(const float *x, int64_t C, double eps);

void rmsNormForward(const float *x, const float *weight, float *y, int64_t R, int64_t C,
                    double eps);

/// Floats of scratch rmsNormBackward needs: each row's rstd, and per
/// scratch slot (CpuParallel.h) the row's xhat and dy * weight (defined in CpuWorkspace.cpp).
int64_t rmsNormBackwardScratch(int64_t R, int64_t C);

/// `scratch`: rmsNormBackwardScratch(R, C) floats.
void rmsNormBackward(const float *x, const float *weight, const float *dy, float *dx,
                     float *dweight, int64_t R, int64_t C, double eps, float *scratch);

} // namespace off::cpu
