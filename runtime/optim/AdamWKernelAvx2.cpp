// The AVX2 kernel: 8 fp32 lanes, the same operations as adamwElement in the
// same order (explicit fma, and this library is built with -ffp-contract=off
// so that no mul+add pair is fused behind our back). Compiled with a function
// target attribute, not a file-wide -mavx2, so the binary still runs on CPUs
// without AVX2 and no inline function from a header is emitted with AVX2 code.
#include "runtime/optim/AdamWKernels.h"

#include <immintrin.h>

#define OFF_TARGET_AVX2 __attribute__((target("avx2,fma")))

namespace off::optim::detail {
namespace {

template <GradDtype G>
OFF_TARGET_AVX2 inline __m256 loadGrad(const void *grad, size_t i) {
  if constexpr (G == GradDtype::F32) {
    return _mm256_loadu_ps(static_cast<const float *>(grad) + i);
  } else {
    __m128i half = _mm_loadu_si128(
        reinterpret_cast<const __m128i *>(static_cast<const uint16_t *>(grad) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
  }
}

/// floatToBf16 on 8 lanes: round to nearest even, NaN -> 0x7FC0.
OFF_TARGET_AVX2 inline __m128i toBf16(__m256 x) {
  __m256i bits = _mm256_castps_si256(x);
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
  __m256i high = _mm256_srli_epi32(rounded, 16);
  __m256i isNan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  high = _mm256_blendv_epi8(high, _mm256_set1_epi32(0x7fc0), isNan);
  // Each lane holds <= 0xFFFF, so the unsigned-saturating pack is exact.
  return _mm_packus_epi32(_mm256_castsi256_si128(high), _mm256_extracti128_si256(high, 1));
}

template <GradDtype G, OutDtype O>
OFF_TARGET_AVX2 void adamwLoop(const AdamWTensor &t, const AdamWStepScalars &s, size_t begin,
                               size_t end) {
  const __m256 decay = _mm256_set1_ps(s.decay);
  // lerp: m1 = fma(coef, g - m, base) with (coef, base) = (w, m) or (w - 1, g).
  const __m256 lerpCoef = _mm256_set1_ps(s.lerpWeightSmall ? s.lerpWeight : s.lerpWeightM1);
  const __m256 baseIsM = _mm256_castsi256_ps(_mm256_set1_epi32(s.lerpWeightSmall ? -1 : 0));
  const __m256 beta2 = _mm256_set1_ps(s.beta2);
  const __m256 oneMinusBeta2 = _mm256_set1_ps(s.oneMinusBeta2);
  const __m256 bias2Sqrt = _mm256_set1_ps(s.bias2Sqrt);
  const __m256 eps = _mm256_set1_ps(s.eps);
  const __m256 negStepSize = _mm256_set1_ps(s.negStepSize);

  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    __m256 g = loadGrad<G>(t.grad, i);
    __m256 p = _mm256_loadu_ps(t.param + i);
    __m256 m = _mm256_loadu_ps(t.expAvg + i);
    __m256 v = _mm256_loadu_ps(t.expAvgSq + i);

    __m256 p1 = _mm256_mul_ps(p, decay);
    __m256 d = _mm256_sub_ps(g, m);
    __m256 m1 = _mm256_fmadd_ps(lerpCoef, d, _mm256_blendv_ps(g, m, baseIsM));
    __m256 v1 = _mm256_fmadd_ps(_mm256_mul_ps(oneMinusBeta2, g), g, _mm256_mul_ps(v, beta2));
    __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v1), bias2Sqrt), eps);
    __m256 p2 = _mm256_add_ps(p1, _mm256_div_ps(_mm256_mul_ps(negStepSize, m1), den));

    _mm256_storeu_ps(t.param + i, p2);
    _mm256_storeu_ps(t.expAvg + i, m1);
    _mm256_storeu_ps(t.expAvgSq + i, v1);
    if constexpr (O == OutDtype::F32)
      _mm256_storeu_ps(static_cast<float *>(t.paramOut) + i, p2);
    else if constexpr (O == OutDtype::BF16)
      _mm_storeu_si128(reinterpret_cast<__m128i *>(static_cast<uint16_t *>(t.paramOut) + i),
                       toBf16(p2));
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

void adamwKernelAvx2(const AdamWTensor &tensor, const AdamWStepScalars &scalars, size_t begin,
                     size_t end) {
  if (tensor.gradDtype == GradDtype::F32)
    dispatchOut<GradDtype::F32>(tensor, scalars, begin, end);
  else
    dispatchOut<GradDtype::BF16>(tensor, scalars, begin, end);
}

} // namespace off::optim::detail
