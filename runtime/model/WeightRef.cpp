#include "runtime/model/WeightRef.h"

#include "runtime/common/Float16.h"
#include "runtime/common/SampleChecksum.h"
#include "runtime/model/FileIo.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/Safetensors.h"

#include <cstring>

namespace off::model {

namespace {

float elementAt(const unsigned char *data, DType dtype, uint64_t i) {
  switch (dtype) {
  case DType::F32: {
    float v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  case DType::F64: {
    double v;
    std::memcpy(&v, data + 8 * i, 8);
    return static_cast<float>(v);
  }
  case DType::F16:
  case DType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, data + 2 * i, 2);
    return dtype == DType::F16 ? halfToFloat(bits) : bf16ToFloat(bits);
  }
  default:
    return 0.0f; // refused before any element is read
  }
}

} // namespace

void readWeightRef(const WeightRef &ref, float *dst, uint64_t count) {
  const std::string what = "weight '" + ref.name + "'";
  if (!isFloat(ref.dtype))
    throwFileError(ref.path, what + " is stored as " + dtypeName(ref.dtype) +
                                 ", not a floating-point type");
  uint64_t elements = elementCount(ref.storedShape);
  if (elements != count || (ref.transposed && ref.storedShape.size() != 2))
    throwFileError(ref.path, what + ": the plan's parameter has " + std::to_string(count) +
                                 " elements, the stored tensor " + shapeToString(ref.storedShape));
  MappedFile file = MappedFile::open(ref.path);
  if (file.size() != ref.fileSize)
    throwFileError(ref.path, "has " + std::to_string(file.size()) +
                                 " bytes, but the plan was compiled against " +
                                 std::to_string(ref.fileSize) +
                                 " (re-exported or replaced? compile the plan again)");
  uint64_t bytes = elements * dtypeSize(ref.dtype);
  if (ref.offset > file.size() || bytes > file.size() - ref.offset)
    throwFileError(ref.path, what + " at offset " + std::to_string(ref.offset) + " needs " +
                                 std::to_string(bytes) + " bytes, past the end of the file");
  const unsigned char *data = file.data() + ref.offset;
  uint64_t checksum = 0;
  file.guarded([&] { checksum = sampleChecksum(data, bytes); });
  if (checksum != ref.checksum)
    throwFileError(ref.path, what + ": its bytes are not those the plan was compiled against "
                                    "(re-exported or replaced? compile the plan again)");
  const DType dtype = ref.dtype;
  if (!ref.transposed) {
    file.guarded([&] {
      for (uint64_t i = 0; i < elements; ++i)
        dst[i] = elementAt(data, dtype, i);
    });
    return;
  }
  // Stored [K, N] (an exporter's pre-transposed Linear weight): dst is [N, K].
  uint64_t k = ref.storedShape[0], n = ref.storedShape[1];
  file.guarded([&] {
    for (uint64_t row = 0; row < k; ++row)
      for (uint64_t col = 0; col < n; ++col)
        dst[col * k + row] = elementAt(data, dtype, row * n + col);
  });
}

} // namespace off::model
