// The runtime's one list of element types. plan.proto's DType (the wire
// format) converts to it in runtime/plan/PlanVocabulary.h; safetensors files
// spell it "F32", "BF16", ... (safetensorsName / parseSafetensorsName).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace off {

enum class DType : uint8_t {
  F32, BF16, F16, F64,
  I64, I32, I16, I8,
  U64, U32, U16, U8,
  Bool,
};

/// Bytes per element.
size_t dtypeSize(DType dtype);

/// "f32", "bf16", "i64", "bool": how messages and plan dumps spell it.
const char *dtypeName(DType dtype);

/// "F32", "BF16", "I64", "BOOL": the spelling of safetensors headers.
const char *safetensorsName(DType dtype);

/// The inverse of safetensorsName; nullopt for anything else (case-sensitive,
/// as the format is).
std::optional<DType> parseSafetensorsName(std::string_view name);

/// F32, BF16, F16, F64.
bool isFloat(DType dtype);

} // namespace off
