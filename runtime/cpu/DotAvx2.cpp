// dotLanes (Dot.h) on AVX2: lanes 0-3 and 4-7 in two double vectors. Built
// with a function target attribute, so the rest of the binary still runs on
// CPUs without AVX2.
#include "runtime/cpu/Dot.h"

#include <immintrin.h>

namespace off::cpu {

__attribute__((target("avx2,fma"))) double dotLanesAvx2(const float *a, const float *b,
                                                        int64_t N) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= N; i += 8) {
    __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
    lo = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(va)),
                         _mm256_cvtps_pd(_mm256_castps256_ps128(vb)), lo);
    hi = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(va, 1)),
                         _mm256_cvtps_pd(_mm256_extractf128_ps(vb, 1)), hi);
  }
  alignas(32) double lane[8];
  _mm256_store_pd(lane, lo);
  _mm256_store_pd(lane + 4, hi);
  for (; i < N; ++i) // the tail continues the same lanes
    lane[i % 8] += double(a[i]) * double(b[i]);
  double sum = 0.0;
  for (double l : lane)
    sum += l;
  return sum;
}

__attribute__((target("avx2,fma"))) double sumLanesAvx2(const float *a, int64_t N) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= N; i += 8) {
    __m256 va = _mm256_loadu_ps(a + i);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(va)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(va, 1)));
  }
  alignas(32) double lane[8];
  _mm256_store_pd(lane, lo);
  _mm256_store_pd(lane + 4, hi);
  for (; i < N; ++i)
    lane[i % 8] += double(a[i]);
  double sum = 0.0;
  for (double l : lane)
    sum += l;
  return sum;
}

// _mm256_max_ps(l, x) is `l > x ? l : x`, lane by lane: maxLanesScalar.
__attribute__((target("avx2,fma"))) float maxLanesAvx2(const float *a, int64_t N) {
  __m256 lanes = _mm256_set1_ps(-__builtin_huge_valf());
  int64_t i = 0;
  for (; i + 8 <= N; i += 8)
    lanes = _mm256_max_ps(lanes, _mm256_loadu_ps(a + i));
  alignas(32) float lane[8];
  _mm256_store_ps(lane, lanes);
  for (; i < N; ++i)
    lane[i % 8] = lane[i % 8] > a[i] ? lane[i % 8] : a[i];
  float m = lane[0];
  for (int l = 1; l < 8; ++l)
    m = m > lane[l] ? m : lane[l];
  return m;
}

} // namespace off::cpu
