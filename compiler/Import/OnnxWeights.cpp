//===- OnnxWeights.cpp - an ONNX model's weights as F32 safetensors -------===//
//
// `offc import/compile MODEL.onnx --weights-out weights.safetensors`: the
// initializer values behind the module's params, under the names and in the
// layout the IR declares, so `offrt ... --init weights.safetensors` loads
// them like a Hugging Face checkpoint.
//
// The safetensors format (Hugging Face): 8 bytes little-endian header length
// N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin,
// end]}, ..., "__metadata__": {...}} padded with spaces to a multiple of 8,
// then the data section. Written here as a stream, one tensor at a time, so
// a model is never held in memory twice (external data stays mapped).
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxImporter.h"
#include "compiler/Import/OnnxModel.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

OnnxWeights::OnnxWeights(std::unique_ptr<OnnxModelFile> file, std::vector<Entry> entries)
    : file(std::move(file)), tensors(std::move(entries)) {}

OnnxWeights::~OnnxWeights() = default;

namespace {

int64_t elementsOf(const OnnxWeights::Entry &entry) {
  int64_t count = 1;
  for (int64_t d : entry.shape)
    count *= d;
  return count;
}

/// IEEE half to float, exactly (every half is a float).
float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) { // inf, nan
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) { // normal
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) { // zero
    bits = sign;
  } else { // subnormal: normalise
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ff) << 13);
  }
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

float bfloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

/// Elements [begin, begin + count) (row-major in the ONNX layout) of a
/// floating-point initializer, as f32.
void decodeRange(const OnnxWeights::Entry &entry, int64_t begin, int64_t count,
                 float *out) {
  const auto &tensor = *static_cast<const onnx::TensorProto *>(entry.tensor);
  int32_t type = tensor.data_type();
  if (!entry.raw) { // typed fields: f16/bf16 bit patterns live in int32_data
    for (int64_t i = 0; i < count; ++i) {
      int64_t at = begin + i;
      switch (type) {
      case onnx::TensorProto::FLOAT: out[i] = tensor.float_data(at); break;
      case onnx::TensorProto::DOUBLE:
        out[i] = static_cast<float>(tensor.double_data(at));
        break;
      case onnx::TensorProto::FLOAT16:
        out[i] = halfToFloat(static_cast<uint16_t>(tensor.int32_data(at)));
        break;
      default:
        out[i] = bfloat16ToFloat(static_cast<uint16_t>(tensor.int32_data(at)));
        break;
      }
    }
    return;
  }
  // Raw data is little-endian, as the host.
  const char *bytes = entry.raw->data();
  switch (type) {
  case onnx::TensorProto::FLOAT:
    std::memcpy(out, bytes + 4 * begin, 4 * count);
    return;
  case onnx::TensorProto::DOUBLE:
    for (int64_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, bytes + 8 * (begin + i), 8);
      out[i] = static_cast<float>(v);
    }
    return;
  case onnx::TensorProto::FLOAT16:
    for (int64_t i = 0; i < count; ++i)
      out[i] = halfToFloat(llvm::support::endian::read16le(bytes + 2 * (begin + i)));
    return;
  default:
    for (int64_t i = 0; i < count; ++i)
      out[i] = bfloat16ToFloat(llvm::support::endian::read16le(bytes + 2 * (begin + i)));
    return;
  }
}

void writeFloats(llvm::raw_ostream &os, const float *values, size_t count) {
  os.write(reinterpret_cast<const char *>(values), count * sizeof(float));
}

} // namespace

std::string OnnxWeights::header() const {
  llvm::json::Object root;
  uint64_t offset = 0;
  for (const Entry &entry : tensors) {
    uint64_t bytes = static_cast<uint64_t>(elementsOf(entry)) * 4;
    llvm::json::Array shape;
    for (int64_t d : entry.shape)
      shape.push_back(d);
    root[entry.name] = llvm::json::Object{
        {"dtype", "F32"},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{offset, offset + bytes}}};
    offset += bytes;
  }
  llvm::json::Object metadata{{"format", "pt"}, {"source", file->path()}};
  for (const Entry &entry : tensors)
    if (entry.onnxName != entry.name)
      metadata["onnx_name:" + entry.name] = entry.onnxName;
  root["__metadata__"] = std::move(metadata);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(root));
  os.flush();
  text.append((8 - text.size() % 8) % 8, ' '); // keeps the data 8-byte aligned
  return text;
}

uint64_t OnnxWeights::fileSize() const {
  uint64_t size = 8 + header().size();
  for (const Entry &entry : tensors)
    size += static_cast<uint64_t>(elementsOf(entry)) * 4;
  return size;
}

void OnnxWeights::writeSafetensors(llvm::raw_ostream &os) const {
  std::string text = header();
  char length[8];
  llvm::support::endian::write64le(length, text.size());
  os.write(length, 8);
  os << text;
  for (const Entry &entry : tensors)
    writeF32(os, entry);
}

void OnnxWeights::writeF32(llvm::raw_ostream &os, const Entry &entry) const {
  std::vector<float> buffer;
  const auto &tensor = *static_cast<const onnx::TensorProto *>(entry.tensor);
  int64_t count = elementsOf(entry);
  if (entry.raw && tensor.data_type() == onnx::TensorProto::FLOAT &&
      !entry.transposed) {
    os.write(entry.raw->data(), count * 4); // already F32 little-endian
    return;
  }
  if (!entry.transposed) {
    constexpr int64_t kChunk = int64_t{1} << 16;
    for (int64_t begin = 0; begin < count; begin += kChunk) {
      int64_t end = std::min(count, begin + kChunk);
      buffer.resize(end - begin);
      decodeRange(entry, begin, end - begin, buffer.data());
      writeFloats(os, buffer.data(), buffer.size());
    }
    return;
  }
  // IR [rows, cols] from ONNX [cols, rows]: out[r][c] = in[c][r], a block
  // of output rows at a time so the input is read along its rows.
  int64_t rows = entry.shape[0], cols = entry.shape[1];
  constexpr int64_t kBlock = 64;
  float row[kBlock];
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    int64_t r1 = std::min(rows, r0 + kBlock);
    buffer.assign((r1 - r0) * cols, 0.0f);
    for (int64_t c = 0; c < cols; ++c) {
      decodeRange(entry, c * rows + r0, r1 - r0, row);
      for (int64_t r = r0; r < r1; ++r)
        buffer[(r - r0) * cols + c] = row[r - r0];
    }
    writeFloats(os, buffer.data(), buffer.size());
  }
}

std::optional<OnnxWeights::External> OnnxWeights::external(const Entry &entry) const {
  const auto &tensor = *static_cast<const onnx::TensorProto *>(entry.tensor);
  if (tensor.data_location() != onnx::TensorProto::EXTERNAL || !entry.raw)
    return std::nullopt;
  External where;
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT: where.dtype = "f32"; break;
  case onnx::TensorProto::FLOAT16: where.dtype = "f16"; break;
  case onnx::TensorProto::BFLOAT16: where.dtype = "bf16"; break;
  default: return std::nullopt;
  }
  std::string location;
  for (const auto &item : tensor.external_data())
    if (item.key() == "location")
      location = item.value();
  // The import checked the location and the range (OnnxModelFile::externalBytes).
  llvm::SmallString<256> full(llvm::sys::path::parent_path(file->path()));
  llvm::sys::path::append(full, location);
  llvm::SmallString<256> real;
  if (llvm::sys::fs::real_path(full, real))
    return std::nullopt;
  llvm::StringRef bytes = file->externalFileBytes(location);
  if (bytes.empty() || entry.raw->data() < bytes.data() ||
      entry.raw->data() + entry.raw->size() > bytes.data() + bytes.size())
    return std::nullopt;
  where.path = std::string(real);
  where.offset = static_cast<uint64_t>(entry.raw->data() - bytes.data());
  where.fileSize = bytes.size();
  where.bytes = *entry.raw;
  for (int64_t d : tensor.dims())
    where.storedShape.push_back(d);
  return where;
}
