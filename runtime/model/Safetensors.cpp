#include "runtime/model/Safetensors.h"

#include "runtime/model/Json.h"
#include "runtime/common/Float16.h"
#include "runtime/model/ModelError.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

namespace off::model {

std::string shapeToString(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

uint64_t elementCount(const Shape &shape) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      throw std::overflow_error("negative dimension " + std::to_string(dim));
    if (dim != 0 && count > uint64_t(std::numeric_limits<int64_t>::max()) / uint64_t(dim))
      throw std::overflow_error("element count of " + shapeToString(shape) +
                                " overflows 64 bits");
    count *= uint64_t(dim);
  }
  return count;
}

namespace {

uint64_t readLittleEndian64(const unsigned char *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

// Byte size of a tensor; nullopt when it overflows.
std::optional<uint64_t> byteCount(const Shape &shape, DType dtype) {
  try {
    uint64_t count = elementCount(shape);
    uint64_t size = dtypeSize(dtype);
    if (count > std::numeric_limits<uint64_t>::max() / size)
      return std::nullopt;
    return count * size;
  } catch (const std::overflow_error &) {
    return std::nullopt;
  }
}

} // namespace

SafetensorsFile SafetensorsFile::open(const std::string &path) {
  SafetensorsFile result;
  result.file_ = MappedFile::open(path);
  result.parseHeader();
  return result;
}

SafetensorsFile SafetensorsFile::fromMemory(const void *data, size_t size,
                                            const std::string &name) {
  SafetensorsFile result;
  result.file_ = MappedFile::borrow(data, size, name);
  result.parseHeader();
  return result;
}

void SafetensorsFile::parseHeader() {
  const std::string &path = file_.path();
  const uint64_t fileSize = file_.size();
  if (fileSize < 8)
    throwFileError(path, "not a safetensors file: " + std::to_string(fileSize) +
                             " bytes, too short for the 8-byte header length");
  unsigned char lengthBytes[8];
  file_.read(0, lengthBytes, 8);
  const uint64_t headerSize = readLittleEndian64(lengthBytes);
  if (headerSize > kMaxSafetensorsHeader)
    throwFileError(path, "header length " + std::to_string(headerSize) +
                             " exceeds the 100 MiB limit (corrupt or not a "
                             "safetensors file)");
  if (headerSize > fileSize - 8)
    throwFileError(path, "header length " + std::to_string(headerSize) +
                             " runs past the end of the file (" +
                             std::to_string(fileSize) + " bytes): truncated?");
  if (headerSize < 2)
    throwFileError(path, "header length " + std::to_string(headerSize) +
                             " is too small for a JSON object");
  // A copy (at most 100 MiB), read guarded: the JSON reader allocates, so it
  // must not run on the mapping itself (see MappedFile::guarded).
  std::string headerText(headerSize, '\0');
  file_.read(8, headerText.data(), headerSize);
  if (headerText[0] != '{')
    throwFileError(path, "header does not start with '{': not a safetensors file");

  const Json header = parseJsonObject(headerText, path, "header");

  dataStart_ = 8 + headerSize;
  const uint64_t dataSize = fileSize - dataStart_;

  for (const auto &item : header.items()) {
    // Named references, not a structured binding: the lambda below uses
    // `name`, which clang before 16 cannot capture from a binding.
    const std::string &name = item.key();
    const Json &entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object())
        throwFileError(path, "__metadata__ is not an object");
      for (const auto &member : entry.items()) {
        if (!member.value().is_string())
          throwFileError(path, "__metadata__ entry '" + member.key() + "' is " +
                                   jsonKindName(member.value()) + ", not a string");
        metadata_.emplace_back(member.key(), member.value().get<std::string>());
      }
      continue;
    }
    auto fail = [&](const std::string &problem) {
      throwFileError(path, "tensor '" + name + "': " + problem);
    };
    if (name.empty())
      throwFileError(path, "a tensor has an empty name");
    if (!entry.is_object())
      fail(std::string("entry is ") + jsonKindName(entry) + ", not an object");
    for (const auto &member : entry.items())
      if (member.key() != "dtype" && member.key() != "shape" &&
          member.key() != "data_offsets")
        fail("unknown field '" + member.key() + "'");
    const Json *dtypeJson = jsonMember(entry, "dtype");
    const Json *shapeJson = jsonMember(entry, "shape");
    const Json *offsetsJson = jsonMember(entry, "data_offsets");
    if (!dtypeJson || !shapeJson || !offsetsJson)
      fail("missing field '" +
           std::string(!dtypeJson ? "dtype" : !shapeJson ? "shape" : "data_offsets") +
           "'");

    TensorInfo tensor;
    tensor.name = name;
    if (!dtypeJson->is_string())
      fail("dtype is not a string");
    std::optional<DType> dtype = parseSafetensorsName(dtypeJson->get<std::string>());
    if (!dtype)
      fail("unknown dtype '" + dtypeJson->get<std::string>() + "'");
    tensor.dtype = *dtype;

    if (!shapeJson->is_array())
      fail("shape is not an array");
    for (const Json &dim : *shapeJson) {
      std::optional<int64_t> value = jsonInt64(dim);
      if (!value)
        fail("shape " + shapeJson->dump() + " is not a list of integers");
      if (*value < 0)
        fail("shape " + shapeJson->dump() + " has a negative dimension");
      tensor.shape.push_back(*value);
    }

    if (!offsetsJson->is_array() || offsetsJson->size() != 2)
      fail("data_offsets is not a pair [begin, end]");
    std::optional<uint64_t> begin = jsonUint64((*offsetsJson)[0]);
    std::optional<uint64_t> end = jsonUint64((*offsetsJson)[1]);
    if (!begin || !end)
      fail("data_offsets " + offsetsJson->dump() + " are not non-negative integers");
    tensor.begin = *begin;
    tensor.end = *end;
    if (tensor.end < tensor.begin)
      fail("data_offsets " + offsetsJson->dump() + " end before they begin");
    if (tensor.end > dataSize)
      fail("data_offsets " + offsetsJson->dump() + " run past the end of the data (" +
           std::to_string(dataSize) + " bytes): truncated file?");

    std::optional<uint64_t> expected = byteCount(tensor.shape, tensor.dtype);
    if (!expected)
      fail("shape " + shapeToString(tensor.shape) + " overflows 64 bits");
    if (*expected != tensor.byteSize())
      fail("shape " + shapeToString(tensor.shape) + " of " +
           std::string(safetensorsName(tensor.dtype)) + " needs " + std::to_string(*expected) +
           " bytes but data_offsets " + offsetsJson->dump() + " hold " +
           std::to_string(tensor.byteSize()));

    byName_.emplace(tensor.name, tensors_.size());
    tensors_.push_back(std::move(tensor));
  }

  // The tensors must tile the data section: sorted by offset, each begins
  // exactly where the previous one ended.
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &tensor : tensors_)
    byOffset.push_back(&tensor);
  std::sort(byOffset.begin(), byOffset.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  const TensorInfo *previous = nullptr;
  for (const TensorInfo *tensor : byOffset) {
    auto range = [](const TensorInfo *t) {
      std::string text = "[";
      text += std::to_string(t->begin);
      text += ", ";
      text += std::to_string(t->end);
      text += ")";
      return text;
    };
    if (tensor->begin < cursor)
      throwFileError(path, "tensors '" + previous->name + "' " + range(previous) +
                               " and '" + tensor->name + "' " + range(tensor) +
                               " overlap");
    if (tensor->begin > cursor)
      throwFileError(path, "data bytes [" + std::to_string(cursor) + ", " +
                               std::to_string(tensor->begin) +
                               ") belong to no tensor (a hole before '" +
                               tensor->name + "')");
    cursor = tensor->end;
    // Name the tensor that owns the bytes up to the cursor, not an empty
    // one sitting at its end.
    if (tensor->byteSize() > 0 || !previous)
      previous = tensor;
  }
  if (cursor != dataSize)
    throwFileError(path, std::to_string(dataSize - cursor) +
                             " bytes after the last tensor belong to no tensor");
}

const TensorInfo *SafetensorsFile::find(std::string_view name) const {
  auto it = byName_.find(std::string(name));
  return it == byName_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo &SafetensorsFile::get(std::string_view name) const {
  const TensorInfo *tensor = find(name);
  if (!tensor)
    throwFileError(path(), "no tensor named '" + std::string(name) + "'");
  return *tensor;
}

const unsigned char *SafetensorsFile::data(const TensorInfo &tensor) const {
  return file_.data() + dataStart_ + tensor.begin;
}

void SafetensorsFile::copyTo(std::string_view name, DType dtype, void *dst,
                             size_t dstBytes) const {
  const TensorInfo &tensor = get(name);
  if (tensor.dtype != dtype)
    throwFileError(path(), "tensor '" + tensor.name + "': expected dtype " +
                               std::string(safetensorsName(dtype)) + ", found " +
                               std::string(safetensorsName(tensor.dtype)));
  if (tensor.byteSize() != dstBytes)
    throwFileError(path(), "tensor '" + tensor.name + "': holds " +
                               std::to_string(tensor.byteSize()) +
                               " bytes, the destination " + std::to_string(dstBytes));
  file_.read(dataStart_ + tensor.begin, dst, dstBytes);
}

void SafetensorsFile::readFloat32(std::string_view name, float *dst, size_t count) const {
  const TensorInfo &tensor = get(name);
  if (tensor.dtype != DType::F32 && tensor.dtype != DType::BF16 &&
      tensor.dtype != DType::F16)
    throwFileError(path(), "tensor '" + tensor.name + "': dtype " +
                               std::string(safetensorsName(tensor.dtype)) +
                               " does not convert to F32 (F32, BF16 or F16 expected)");
  uint64_t elements = tensor.byteSize() / dtypeSize(tensor.dtype);
  if (elements != count)
    throwFileError(path(), "tensor '" + tensor.name + "': holds " +
                               std::to_string(elements) + " elements, the destination " +
                               std::to_string(count));
  const unsigned char *from = data(tensor);
  file_.guarded([&] { convertToFloat32(tensor.dtype, from, count, dst); });
}

// ---------------------------------------------------------------- writing

void writeSafetensors(const std::string &path, const std::vector<TensorToWrite> &tensors,
                      const Metadata &metadata) {
  // Larger elements first keeps every tensor aligned to its element size.
  std::vector<const TensorToWrite *> order;
  for (const TensorToWrite &tensor : tensors)
    order.push_back(&tensor);
  std::stable_sort(order.begin(), order.end(),
                   [](const TensorToWrite *a, const TensorToWrite *b) {
                     return dtypeSize(a->dtype) > dtypeSize(b->dtype);
                   });

  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto &[key, value] : metadata) {
      if (jsonMember(meta, key))
        throwFileError(path, "duplicate metadata key '" + key + "'");
      jsonAppend(meta, key, value);
    }
    jsonAppend(header, "__metadata__", std::move(meta));
  }
  std::vector<uint64_t> sizes;
  std::unordered_set<std::string_view> names;
  uint64_t offset = 0;
  for (const TensorToWrite *tensor : order) {
    if (tensor->name.empty() || tensor->name == "__metadata__")
      throwFileError(path, "invalid tensor name '" + tensor->name + "'");
    if (!names.insert(tensor->name).second)
      throwFileError(path, "tensor '" + tensor->name + "' is given twice");
    std::optional<uint64_t> size;
    if (std::all_of(tensor->shape.begin(), tensor->shape.end(),
                    [](int64_t d) { return d >= 0; }))
      size = byteCount(tensor->shape, tensor->dtype);
    if (!size)
      throwFileError(path, "tensor '" + tensor->name + "': invalid shape " +
                               shapeToString(tensor->shape));
    if (*size > 0 && !tensor->data && !tensor->read)
      throwFileError(path, "tensor '" + tensor->name + "': no data");
    Json entry = {{"dtype", safetensorsName(tensor->dtype)},
                  {"shape", tensor->shape},
                  {"data_offsets", {offset, offset + *size}}};
    jsonAppend(header, tensor->name, std::move(entry));
    sizes.push_back(*size);
    offset += *size;
  }

  std::string headerText = header.dump();
  headerText.append((8 - headerText.size() % 8) % 8, ' ');
  unsigned char length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<unsigned char>(uint64_t(headerText.size()) >> (8 * i));

  AtomicFileWriter writer(path);
  writer.write(length, sizeof length);
  writer.write(headerText);
  std::vector<std::byte> chunk; // for tensors given by a read function
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i]->data || sizes[i] == 0) {
      writer.write(order[i]->data, sizes[i]);
      continue;
    }
    constexpr uint64_t kChunk = 64ull << 20;
    chunk.resize(std::min(sizes[i], kChunk));
    for (uint64_t at = 0; at < sizes[i]; at += chunk.size()) {
      uint64_t bytes = std::min<uint64_t>(chunk.size(), sizes[i] - at);
      order[i]->read(at, chunk.data(), bytes);
      writer.write(chunk.data(), bytes);
    }
  }
  writer.commit();
}

} // namespace off::model
