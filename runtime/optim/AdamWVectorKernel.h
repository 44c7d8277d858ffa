// Internal: the one body of every vector AdamW kernel, written once over a
// `Lanes` type that names the vector width's operations (AdamWKernelAvx2.cpp:
// 8 lanes, AdamWKernelAvx512.cpp: 16). Each operation is the one adamwElement
// does, in the same order, so any width gives the scalar reference's bits.
//
// Include this only between OFF_OPTIM_BEGIN_TARGET(...) and
// OFF_OPTIM_END_TARGET() in a kernel's .cpp, after AdamWKernels.h: the
// region gives the template (defined in an anonymous namespace, so each
// kernel file has its own copy) that file's instruction set, which lets the
// intrinsics of its Lanes inline into the loop. Headers included before the
// region (the scalar reference, the standard library) keep the baseline
// instruction set, so the binary runs on any x86-64 and never calls an
// AVX-encoded copy of a shared inline function.
#pragma once

#include "runtime/optim/AdamWKernels.h"

#ifndef OFF_OPTIM_IN_TARGET_REGION
#error "include AdamWVectorKernel.h between OFF_OPTIM_BEGIN_TARGET and OFF_OPTIM_END_TARGET"
#endif

namespace off::optim::detail {
namespace {

/// Lanes needs: kWidth; Vec; Select (a per-lane choice); splat, load, store,
/// loadBf16 (bf16 -> f32 by a 16-bit shift), storeBf16 (floatToBf16 per lane),
/// add, sub, mul, div, sqrt, fma(a, b, c) = a*b + c rounded once,
/// select(mask, ifSet, ifClear), and selectAll(bool) for a uniform choice.
template <typename Lanes, GradDtype G, OutDtype O>
void adamwVectorLoop(const AdamWTensor &t, const AdamWStepScalars &s, size_t begin,
                     size_t end) {
  using Vec = typename Lanes::Vec;
  const Vec decay = Lanes::splat(s.decay);
  // lerp: m1 = fma(coef, g - m, base) with (coef, base) = (w, m) or (w - 1, g).
  const Vec lerpCoef = Lanes::splat(s.lerpWeightSmall ? s.lerpWeight : s.lerpWeightM1);
  const typename Lanes::Select baseIsM = Lanes::selectAll(s.lerpWeightSmall);
  const Vec beta2 = Lanes::splat(s.beta2);
  const Vec oneMinusBeta2 = Lanes::splat(s.oneMinusBeta2);
  const Vec bias2Sqrt = Lanes::splat(s.bias2Sqrt);
  const Vec eps = Lanes::splat(s.eps);
  const Vec negStepSize = Lanes::splat(s.negStepSize);
  const Vec gradScale = Lanes::splat(t.gradScale);

  size_t i = begin;
  for (; i + Lanes::kWidth <= end; i += Lanes::kWidth) {
    Vec g;
    if constexpr (G == GradDtype::F32)
      g = Lanes::load(static_cast<const float *>(t.grad) + i);
    else
      g = Lanes::loadBf16(static_cast<const uint16_t *>(t.grad) + i);
    g = Lanes::mul(g, gradScale); // the clip coefficient, as grad is read
    Vec p = Lanes::load(t.param + i);
    Vec m = Lanes::load(t.expAvg + i);
    Vec v = Lanes::load(t.expAvgSq + i);

    Vec p1 = Lanes::mul(p, decay);
    Vec d = Lanes::sub(g, m);
    Vec m1 = Lanes::fma(lerpCoef, d, Lanes::select(baseIsM, m, g));
    Vec v1 = Lanes::fma(Lanes::mul(oneMinusBeta2, g), g, Lanes::mul(v, beta2));
    Vec den = Lanes::add(Lanes::div(Lanes::sqrt(v1), bias2Sqrt), eps);
    Vec p2 = Lanes::add(p1, Lanes::div(Lanes::mul(negStepSize, m1), den));

    Lanes::store(t.param + i, p2);
    Lanes::store(t.expAvg + i, m1);
    Lanes::store(t.expAvgSq + i, v1);
    if constexpr (O == OutDtype::F32)
      Lanes::store(static_cast<float *>(t.paramOut) + i, p2);
    else if constexpr (O == OutDtype::BF16)
      Lanes::storeBf16(static_cast<uint16_t *>(t.paramOut) + i, p2);
  }
  adamwElementsScalar(t, s, i, end);
}

template <typename Lanes, GradDtype G>
void adamwVectorLoopForOut(const AdamWTensor &t, const AdamWStepScalars &s, size_t begin,
                           size_t end) {
  switch (t.outDtype) {
  case OutDtype::None: return adamwVectorLoop<Lanes, G, OutDtype::None>(t, s, begin, end);
  case OutDtype::F32: return adamwVectorLoop<Lanes, G, OutDtype::F32>(t, s, begin, end);
  case OutDtype::BF16: return adamwVectorLoop<Lanes, G, OutDtype::BF16>(t, s, begin, end);
  }
}

/// The kernel for one width: the loop for the tensor's dtypes.
template <typename Lanes>
void adamwVectorKernel(const AdamWTensor &t, const AdamWStepScalars &s, size_t begin,
                       size_t end) {
  if (t.gradDtype == GradDtype::F32)
    adamwVectorLoopForOut<Lanes, GradDtype::F32>(t, s, begin, end);
  else
    adamwVectorLoopForOut<Lanes, GradDtype::BF16>(t, s, begin, end);
}

} // namespace
} // namespace off::optim::detail
