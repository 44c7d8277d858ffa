// The AVX-512 kernel: 16 fp32 lanes, the same operations as adamwElement in
// the same order (see AdamWKernelAvx2.cpp for why a target attribute and
// -ffp-contract=off). Needs only AVX-512F.
#include "runtime/optim/AdamWKernels.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// "undefined" pass-through operands (GCC bug 105593); nothing of ours.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define OFF_TARGET_AVX512 __attribute__((target("avx512f")))

namespace off::optim::detail {
namespace {

template <GradDtype G>
OFF_TARGET_AVX512 inline __m512 loadGrad(const void *grad, size_t i) {
  if constexpr (G == GradDtype::F32) {
    return _mm512_loadu_ps(static_cast<const float *>(grad) + i);
  } else {
    __m256i half = _mm256_loadu_si256(
        reinterpret_cast<const __m256i *>(static_cast<const uint16_t *>(grad) + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
  }
}

/// floatToBf16 on 16 lanes: round to nearest even, NaN -> 0x7FC0. (Not
/// VCVTNEPS2BF16: it flushes denormals, the scalar reference does not.)
OFF_TARGET_AVX512 inline __m256i toBf16(__m512 x) {
  __m512i bits = _mm512_castps_si512(x);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  __m512i high = _mm512_srli_epi32(rounded, 16);
  __mmask16 isNan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  high = _mm512_mask_mov_epi32(high, isNan, _mm512_set1_epi32(0x7fc0));
  return _mm512_cvtepi32_epi16(high); // each lane <= 0xFFFF: truncation is exact
}

template <GradDtype G, OutDtype O>
OFF_TARGET_AVX512 void adamwLoop(const AdamWTensor &t, const AdamWStepScalars &s, size_t begin,
                                 size_t end) {
  const __m512 decay = _mm512_set1_ps(s.decay);
  const __m512 lerpCoef = _mm512_set1_ps(s.lerpWeightSmall ? s.lerpWeight : s.lerpWeightM1);
  const __mmask16 baseIsM = s.lerpWeightSmall ? __mmask16(0xffff) : __mmask16(0);
  const __m512 beta2 = _mm512_set1_ps(s.beta2);
  const __m512 oneMinusBeta2 = _mm512_set1_ps(s.oneMinusBeta2);
  const __m512 bias2Sqrt = _mm512_set1_ps(s.bias2Sqrt);
  const __m512 eps = _mm512_set1_ps(s.eps);
  const __m512 negStepSize = _mm512_set1_ps(s.negStepSize);

  size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    __m512 g = loadGrad<G>(t.grad, i);
    __m512 p = _mm512_loadu_ps(t.param + i);
    __m512 m = _mm512_loadu_ps(t.expAvg + i);
    __m512 v = _mm512_loadu_ps(t.expAvgSq + i);

    __m512 p1 = _mm512_mul_ps(p, decay);
    __m512 d = _mm512_sub_ps(g, m);
    __m512 m1 = _mm512_fmadd_ps(lerpCoef, d, _mm512_mask_blend_ps(baseIsM, g, m));
    __m512 v1 = _mm512_fmadd_ps(_mm512_mul_ps(oneMinusBeta2, g), g, _mm512_mul_ps(v, beta2));
    __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(v1), bias2Sqrt), eps);
    __m512 p2 = _mm512_add_ps(p1, _mm512_div_ps(_mm512_mul_ps(negStepSize, m1), den));

    _mm512_storeu_ps(t.param + i, p2);
    _mm512_storeu_ps(t.expAvg + i, m1);
    _mm512_storeu_ps(t.expAvgSq + i, v1);
    if constexpr (O == OutDtype::F32)
      _mm512_storeu_ps(static_cast<float *>(t.paramOut) + i, p2);
    else if constexpr (O == OutDtype::BF16)
      _mm256_storeu_si256(
          reinterpret_cast<__m256i *>(static_cast<uint16_t *>(t.paramOut) + i), toBf16(p2));
  }
  adamwElementsScalar(t, s, i, end);
}

template <GradDtype G>
void dispatchOut(const AdamWTensor &t, const AdamWStepScalars &s, size_t begin, size_t end) {
  switch (t.outDtype) {
  case OutDtype::None: return adamwLoop<G, OutDtype::None>(t, s, begin, end);
  case OutDtype::F32: return adamwLoop<G, OutDtype::F32>(t, s, begin, end);
  case OutDtype::BF16: return adamwLoop<G, OutDtype::BF16>(t, s, begin, end);
  }
}

} // namespace

void adamwKernelAvx512(const AdamWTensor &tensor, const AdamWStepScalars &scalars,
                       size_t begin, size_t end) {
  if (tensor.gradDtype == GradDtype::F32)
    dispatchOut<GradDtype::F32>(tensor, scalars, begin, end);
  else
    dispatchOut<GradDtype::BF16>(tensor, scalars, begin, end);
}

} // namespace off::optim::detail
