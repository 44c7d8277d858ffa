#include "runtime/common/Float16.h"

#include <stdexcept>
#include <string>

namespace off {

void convertToFloat32(DType dtype, const void *src, size_t count, float *dst) {
  const auto *bytes = static_cast<const unsigned char *>(src);
  switch (dtype) {
  case DType::F32:
    if (count > 0) // an empty tensor may come with null pointers: memcpy forbids them
      std::memcpy(dst, src, count * sizeof(float));
    return;
  case DType::BF16:
  case DType::F16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t bits;
      std::memcpy(&bits, bytes + 2 * i, sizeof bits);
      dst[i] = dtype == DType::BF16 ? bf16ToFloat(bits) : halfToFloat(bits);
    }
    return;
  default:
    throw std::invalid_argument("cannot convert " + std::string(safetensorsName(dtype)) +
                                " to F32");
  }
}

} // namespace off
