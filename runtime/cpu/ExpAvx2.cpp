// expAffine (Exp.h) on AVX2, 8 lanes; the same operations in the same order
// as expAffineScalar (the tail too, through a padded copy). Built with a function target
// attribute so the rest of the binary runs on CPUs without AVX2.
#include "runtime/cpu/Exp.h"
#include "runtime/cpu/ExpConstants.h"

#include <immintrin.h>

namespace off::cpu {

namespace {

// Eight lanes of expAffineScalar.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x, __m256 va, __m256 vb) {
  using namespace detail::exp;
  const __m256 maxV = _mm256_set1_ps(kMax), minV = _mm256_set1_ps(kMin);
  const __m256 inf = _mm256_set1_ps(__builtin_huge_valf());
  {
    __m256 t = _mm256_sub_ps(_mm256_mul_ps(va, x), vb);
    __m256 tc = _mm256_min_ps(_mm256_max_ps(t, minV), maxV); // NaN -> kMin here; fixed below
    __m256 n = _mm256_round_ps(_mm256_mul_ps(tc, _mm256_set1_ps(kLog2e)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), tc);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
    __m256 p = _mm256_set1_ps(kP0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
    __m256 v = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i k = _mm256_cvtps_epi32(n);
    __m256i k1 = _mm256_srai_epi32(k, 1), k2 = _mm256_sub_epi32(k, k1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
    v = _mm256_mul_ps(_mm256_mul_ps(v, s1), s2);
    v = _mm256_blendv_ps(v, inf, _mm256_cmp_ps(t, maxV, _CMP_GT_OQ));
    v = _mm256_blendv_ps(v, _mm256_setzero_ps(), _mm256_cmp_ps(t, minV, _CMP_LT_OQ));
    v = _mm256_blendv_ps(v, t, _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
    return v;
  }
}

} // namespace

__attribute__((target("avx2,fma"))) void expAffineArrayAvx2(const float *x, float a, float b,
                                                             float *y, int64_t N) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  int64_t i = 0;
  for (; i + 8 <= N; i += 8)
    _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i), va, vb));
  if (i < N) { // the tail through a padded copy: lanes are independent
    alignas(32) float in[8] = {0, 0, 0, 0, 0, 0, 0, 0}, out[8];
    for (int64_t j = i; j < N; ++j)
      in[j - i] = x[j];
    _mm256_store_ps(out, exp8(_mm256_load_ps(in), va, vb));
    for (int64_t j = i; j < N; ++j)
      y[j] = out[j - i];
  }
}

} // namespace off::cpu
