// Element types of tensors in safetensors files and their conversions to
// fp32 (bf16 and f16 checkpoints load into fp32 buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace off::model {

enum class DType : uint8_t {
  F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL,
};

/// Bytes per element.
size_t dtypeSize(DType dtype);

/// The safetensors spelling: "F32", "BF16", ...
std::string_view dtypeName(DType dtype);

/// The inverse of dtypeName; nullopt for anything else (case-sensitive, as
/// the format is).
std::optional<DType> parseDType(std::string_view name);

/// IEEE half and bfloat16 to fp32 (exact) and fp32 to bf16 (round to nearest
/// even, NaN stays NaN), on the bit patterns.
float halfToFloat(uint16_t bits);
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value);

/// Converts `count` elements of `dtype` at `src` (any alignment) to fp32.
/// Only F32, BF16 and F16 convert; others throw std::invalid_argument.
void convertToFloat32(DType dtype, const void *src, size_t count, float *dst);

} // namespace off::model
