// The AVX-512 kernel: AdamWVectorKernel.h's body on 16 fp32 lanes (see
// AdamWKernelAvx2.cpp for why a target region and -ffp-contract=off).
// Needs only AVX-512F.
#include "runtime/optim/AdamWKernels.h"

#include <immintrin.h>

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// "undefined" pass-through operands (GCC bug 105593); nothing of ours.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

OFF_OPTIM_BEGIN_TARGET("avx512f")
#define OFF_OPTIM_IN_TARGET_REGION
#include "runtime/optim/AdamWVectorKernel.h"

namespace off::optim::detail {
namespace {

struct Avx512Lanes {
  static constexpr size_t kWidth = 16;
  using Vec = __m512;
  using Select = __mmask16; // set bits pick the first operand

  static Vec splat(float x) { return _mm512_set1_ps(x); }
  static Vec load(const float *p) { return _mm512_loadu_ps(p); }
  static void store(float *p, Vec x) { _mm512_storeu_ps(p, x); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec div(Vec a, Vec b) { return _mm512_div_ps(a, b); }
  static Vec sqrt(Vec a) { return _mm512_sqrt_ps(a); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Select selectAll(bool on) { return on ? __mmask16(0xffff) : __mmask16(0); }
  static Vec select(Select mask, Vec ifSet, Vec ifClear) {
    return _mm512_mask_blend_ps(mask, ifClear, ifSet);
  }

  static Vec loadBf16(const uint16_t *p) {
    __m256i half = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
  }

  /// floatToBf16 on 16 lanes: round to nearest even, NaN -> 0x7FC0. (Not
  /// VCVTNEPS2BF16: it flushes denormals, the scalar reference does not.)
  static void storeBf16(uint16_t *p, Vec x) {
    __m512i bits = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    __m512i high = _mm512_srli_epi32(rounded, 16);
    __mmask16 isNan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    high = _mm512_mask_mov_epi32(high, isNan, _mm512_set1_epi32(0x7fc0));
    // Each lane holds <= 0xFFFF, so the truncating narrow is exact.
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), _mm512_cvtepi32_epi16(high));
  }
};

} // namespace
} // namespace off::optim::detail

OFF_OPTIM_END_TARGET()

namespace off::optim::detail {

void adamwKernelAvx512(const AdamWTensor &tensor, const AdamWStepScalars &scalars,
                       size_t begin, size_t end) {
  adamwVectorKernel<Avx512Lanes>(tensor, scalars, begin, end);
}

} // namespace off::optim::detail
