#include "runtime/common/DType.h"

#include <array>

namespace off {
namespace {

struct DTypeInfo {
  DType dtype;
  const char *name;        // ours
  const char *safetensors; // the file format's
  size_t size;
};

constexpr std::array<DTypeInfo, 13> kDTypes{{
    {DType::F32, "f32", "F32", 4},   {DType::BF16, "bf16", "BF16", 2},
    {DType::F16, "f16", "F16", 2},   {DType::F64, "f64", "F64", 8},
    {DType::I64, "i64", "I64", 8},   {DType::I32, "i32", "I32", 4},
    {DType::I16, "i16", "I16", 2},   {DType::I8, "i8", "I8", 1},
    {DType::U64, "u64", "U64", 8},   {DType::U32, "u32", "U32", 4},
    {DType::U16, "u16", "U16", 2},   {DType::U8, "u8", "U8", 1},
    {DType::Bool, "bool", "BOOL", 1},
}};

const DTypeInfo *info(DType dtype) {
  for (const DTypeInfo &entry : kDTypes)
    if (entry.dtype == dtype)
      return &entry;
  return nullptr; // a value outside the enum (a corrupt cast)
}

} // namespace

size_t dtypeSize(DType dtype) {
  const DTypeInfo *entry = info(dtype);
  return entry ? entry->size : 0;
}

const char *dtypeName(DType dtype) {
  const DTypeInfo *entry = info(dtype);
  return entry ? entry->name : "?";
}

const char *safetensorsName(DType dtype) {
  const DTypeInfo *entry = info(dtype);
  return entry ? entry->safetensors : "?";
}

std::optional<DType> parseSafetensorsName(std::string_view name) {
  for (const DTypeInfo &entry : kDTypes)
    if (name == entry.safetensors)
      return entry.dtype;
  return std::nullopt;
}

bool isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16 ||
         dtype == DType::F64;
}

} // namespace off
