// bf16 and IEEE half conversions on bit patterns: the one copy every runtime
// component uses (checkpoint loading, the cast kernels, AdamW's bf16 paths).
// Inline: vector kernels use them for their tails.
#pragma once

#include "runtime/common/DType.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace off {

inline float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline uint32_t floatToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

/// Exact.
inline float bf16ToFloat(uint16_t bits) { return bitsToFloat(uint32_t(bits) << 16); }

/// Round to nearest even, as torch's c10::BFloat16; any NaN becomes 0x7FC0
/// (the quiet NaN torch produces); overflow rounds to infinity.
inline uint16_t floatToBf16(float value) {
  uint32_t bits = floatToBits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

/// IEEE binary16 to fp32, exact (subnormals, infinities and NaN included).
inline float halfToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f) // inf or NaN
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) // normal: rebias 15 -> 127
    return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0)
    return bitsToFloat(sign);
  // Subnormal half: mantissa * 2^-24, exactly representable in fp32.
  float magnitude = float(mantissa) * 0x1p-24f;
  return sign ? -magnitude : magnitude;
}

/// Converts `count` elements of `dtype` at `src` (any alignment) to fp32.
/// F32, BF16 and F16 convert; other dtypes throw std::invalid_argument.
void convertToFloat32(DType dtype, const void *src, size_t count, float *dst);

} // namespace off
