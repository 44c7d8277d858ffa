// The AVX2 kernel: AdamWVectorKernel.h's body on 8 fp32 lanes. Explicit fma,
// and this library is built with -ffp-contract=off so that no mul+add pair is
// fused behind our back. Compiled for "avx2,fma" by a target region, not a
// file-wide -mavx2, so the binary still runs on CPUs without AVX2.
#include "runtime/optim/AdamWKernels.h"

#include <immintrin.h>

OFF_OPTIM_BEGIN_TARGET("avx2,fma")
#define OFF_OPTIM_IN_TARGET_REGION
#include "runtime/optim/AdamWVectorKernel.h"

namespace off::optim::detail {
namespace {

struct Avx2Lanes {
  static constexpr size_t kWidth = 8;
  using Vec = __m256;
  using Select = __m256; // all-ones lanes pick the first operand

  static Vec splat(float x) { return _mm256_set1_ps(x); }
  static Vec load(const float *p) { return _mm256_loadu_ps(p); }
  static void store(float *p, Vec x) { _mm256_storeu_ps(p, x); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec div(Vec a, Vec b) { return _mm256_div_ps(a, b); }
  static Vec sqrt(Vec a) { return _mm256_sqrt_ps(a); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Select selectAll(bool on) { return _mm256_castsi256_ps(_mm256_set1_epi32(on ? -1 : 0)); }
  static Vec select(Select mask, Vec ifSet, Vec ifClear) {
    return _mm256_blendv_ps(ifClear, ifSet, mask);
  }

  static Vec loadBf16(const uint16_t *p) {
    __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
  }

  /// floatToBf16 on 8 lanes: round to nearest even, NaN -> 0x7FC0.
  static void storeBf16(uint16_t *p, Vec x) {
    __m256i bits = _mm256_castps_si256(x);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    __m256i high = _mm256_srli_epi32(rounded, 16);
    __m256i isNan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    high = _mm256_blendv_epi8(high, _mm256_set1_epi32(0x7fc0), isNan);
    // Each lane holds <= 0xFFFF, so the unsigned-saturating pack is exact.
    _mm_storeu_si128(reinterpret_cast<__m128i *>(p),
                     _mm_packus_epi32(_mm256_castsi256_si128(high),
                                      _mm256_extracti128_si256(high, 1)));
  }
};

} // namespace
} // namespace off::optim::detail

OFF_OPTIM_END_TARGET()

namespace off::optim::detail {

void adamwKernelAvx2(const AdamWTensor &tensor, const AdamWStepScalars &scalars, size_t begin,
                     size_t end) {
  adamwVectorKernel<Avx2Lanes>(tensor, scalars, begin, end);
}

} // namespace off::optim::detail
