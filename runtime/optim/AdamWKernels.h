// Internal: the AdamW kernels per instruction set and the one-element
// reference that defines their arithmetic. Only AdamW.cpp and the tests
// include this.
//
// Legend: N elements of one parameter tensor.
//   param[N] f32, expAvg[N] f32, expAvgSq[N] f32   read and written in place
//   grad[N]  f32 or bf16                          read (g = grad * gradScale)
//   out[N]   f32 or bf16 (optional)               written
//
// Per element, in this order (torch 2.15 AdamW, single-tensor CPU path, whose
// vectorised ATen kernels use fma for lerp and addcmul; see README.md):
//   p1 = p * decay                                  param.mul_(1 - lr*wd)
//   d  = g - m
//   m1 = fma(w, d, m)        if |w| < 0.5           exp_avg.lerp_(grad, w)
//      = fma(w - 1, d, g)    otherwise
//   v1 = fma((1-b2) * g, g, v * b2)                 exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
//   den = sqrt(v1) / bias2Sqrt + eps                (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
//   p2 = p1 + (negStepSize * m1) / den              param.addcdiv_(exp_avg, den, value=-step_size)
// Every operation is a single IEEE-754 rounding (fma included), so any
// vector width gives the same bits as this scalar form.
#pragma once

#include "runtime/common/Float16.h"
#include "runtime/optim/AdamW.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace off::optim::detail {

/// The reference for one element; the scalar kernel is a loop over it and
/// the vector kernels use it for their tails.
inline void adamwElement(const AdamWStepScalars &s, float &param, float &expAvg,
                         float &expAvgSq, float grad) {
  float p1 = param * s.decay;
  float d = grad - expAvg;
  float m1 = s.lerpWeightSmall ? std::fmaf(s.lerpWeight, d, expAvg)
                               : std::fmaf(s.lerpWeightM1, d, grad);
  float v1 = std::fmaf(s.oneMinusBeta2 * grad, grad, expAvgSq * s.beta2);
  float den = std::sqrt(v1) / s.bias2Sqrt + s.eps;
  param = p1 + (s.negStepSize * m1) / den;
  expAvg = m1;
  expAvgSq = v1;
}

/// Kernels over [begin, end); tensor pointers index from element 0.
using AdamWKernel = void (*)(const AdamWTensor &, const AdamWStepScalars &, size_t begin,
                             size_t end);
void adamwKernelScalar(const AdamWTensor &, const AdamWStepScalars &, size_t, size_t);
void adamwKernelAvx2(const AdamWTensor &, const AdamWStepScalars &, size_t, size_t);
void adamwKernelAvx512(const AdamWTensor &, const AdamWStepScalars &, size_t, size_t);

/// A region of a kernel file whose functions are compiled for the instruction
/// set `isa` (a target attribute string), without a file-wide -m flag: see
/// AdamWVectorKernel.h. GCC spells it push_options/target, clang an
/// attribute push.
#define OFF_OPTIM_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)
#define OFF_OPTIM_BEGIN_TARGET(isa)                                                       \
  OFF_OPTIM_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define OFF_OPTIM_END_TARGET() OFF_OPTIM_PRAGMA(clang attribute pop)
#else
#define OFF_OPTIM_BEGIN_TARGET(isa) OFF_OPTIM_PRAGMA(GCC push_options) OFF_OPTIM_PRAGMA(GCC target(isa))
#define OFF_OPTIM_END_TARGET() OFF_OPTIM_PRAGMA(GCC pop_options)
#endif

/// The tail helper shared by all kernels: elements [begin, end) one by one.
inline void adamwElementsScalar(const AdamWTensor &t, const AdamWStepScalars &s,
                                size_t begin, size_t end) {
  const float *gradF32 = static_cast<const float *>(t.grad);
  const uint16_t *gradBf16 = static_cast<const uint16_t *>(t.grad);
  float *outF32 = static_cast<float *>(t.paramOut);
  uint16_t *outBf16 = static_cast<uint16_t *>(t.paramOut);
  for (size_t i = begin; i < end; ++i) {
    float g = (t.gradDtype == GradDtype::F32 ? gradF32[i] : bf16ToFloat(gradBf16[i])) *
              t.gradScale;
    adamwElement(s, t.param[i], t.expAvg[i], t.expAvgSq[i], g);
    if (t.outDtype == OutDtype::F32)
      outF32[i] = t.param[i];
    else if (t.outDtype == OutDtype::BF16)
      outBf16[i] = floatToBf16(t.param[i]);
  }
}

} // namespace off::optim::detail
