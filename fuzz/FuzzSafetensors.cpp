// Fuzz target: SafetensorsFile (runtime/model/Safetensors.h), the reader of
// model weights and optimizer state that users hand to offrt.
//
// Input: the bytes of a .safetensors file. Accepted files are checked
// against the format's promise with arithmetic of our own (128-bit, so it
// cannot overflow where the parser might): every tensor's byte range holds
// product(shape) * dtype size bytes, the ranges tile the data section, and
// the bytes the accessors hand out are the file's bytes at those offsets.
#include "fuzz/FuzzTarget.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/Safetensors.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace off::fuzz {

const char *const kTargetName = "safetensors";

namespace {

using off::DType;
using model::SafetensorsFile;
using model::TensorInfo;

unsigned __int128 independentByteCount(const TensorInfo &tensor) {
  for (int64_t dim : tensor.shape) {
    if (dim < 0)
      violation("tensor '" + tensor.name + "' accepted with a negative dimension");
    if (dim == 0)
      return 0; // empty, however large the other dims
  }
  unsigned __int128 count = off::dtypeSize(tensor.dtype);
  for (int64_t dim : tensor.shape) {
    count *= uint64_t(dim);
    if (count >> 64)
      violation("tensor '" + tensor.name + "' accepted with a size past 2^64 bytes");
  }
  return count;
}

void checkAccepted(const SafetensorsFile &file, const uint8_t *data, size_t size) {
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | data[i];
  const uint64_t dataStart = 8 + headerSize;
  if (size < dataStart)
    violation("accepted a header that runs past the end of the input");
  const uint64_t dataSize = size - dataStart;

  std::vector<const TensorInfo *> byBegin;
  for (const TensorInfo &tensor : file.tensors()) {
    if (tensor.end < tensor.begin || tensor.end > dataSize)
      violation("tensor '" + tensor.name + "' accepted with its bytes outside the data");
    if (independentByteCount(tensor) != tensor.end - tensor.begin)
      violation("tensor '" + tensor.name + "' accepted with a byte range its shape does "
                "not fill");
    if (file.find(tensor.name) != &tensor)
      violation("find('" + tensor.name + "') does not return the tensor");
    if (file.data(tensor) != data + dataStart + tensor.begin)
      violation("data('" + tensor.name + "') is not at its offset in the file");
    byBegin.push_back(&tensor);
  }
  std::sort(byBegin.begin(), byBegin.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  for (const TensorInfo *tensor : byBegin) {
    if (tensor->begin != cursor)
      violation("accepted tensors that overlap or leave a hole at '" + tensor->name + "'");
    cursor = tensor->end;
  }
  if (cursor != dataSize)
    violation("accepted data bytes that belong to no tensor");

  // The readers hand out exactly the file's bytes (fp32 ones compared raw).
  for (const TensorInfo &tensor : file.tensors()) {
    std::vector<unsigned char> copy(tensor.byteSize());
    file.copyTo(tensor.name, tensor.dtype, copy.data(), copy.size());
    if (!copy.empty() && std::memcmp(copy.data(), data + dataStart + tensor.begin,
                                     copy.size()) != 0)
      violation("copyTo('" + tensor.name + "') copied other bytes than the file's");
    if (tensor.dtype == DType::F32 || tensor.dtype == DType::BF16 ||
        tensor.dtype == DType::F16) {
      std::vector<float> values(tensor.byteSize() / off::dtypeSize(tensor.dtype));
      file.readFloat32(tensor.name, values.data(), values.size());
      if (tensor.dtype == DType::F32 && !values.empty() &&
          std::memcmp(values.data(), copy.data(), copy.size()) != 0)
        violation("readFloat32('" + tensor.name + "') changed F32 bytes");
    }
  }
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  auto file = parseOrReject<model::ModelIoError>(
      [&] { return SafetensorsFile::fromMemory(data, size, kInputName); });
  if (!file)
    return Outcome::Rejected;
  checkAccepted(*file, data, size);
  return Outcome::Accepted;
}

} // namespace off::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  off::fuzz::runFuzzInput(data, size);
  return 0;
}
