// Safetensors files (Hugging Face's format): reading by mmap with a full
// validation of the header, and atomic writing.
//
// Layout: 8 bytes little-endian header length N; N bytes of JSON, an object
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets relative to the data section) plus an optional
// "__metadata__" object of strings; then the data section, which the tensors
// must cover exactly: no overlaps, no holes, nothing after the last tensor.
#pragma once

#include "runtime/common/DType.h"
#include "runtime/model/FileIo.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace off::model {

/// Headers larger than this are refused as corrupt (the reference
/// implementation's limit too).
inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

using Shape = std::vector<int64_t>;
using Metadata = std::vector<std::pair<std::string, std::string>>;

/// "[2, 3]"
std::string shapeToString(const Shape &shape);

/// Product of the dims; throws std::overflow_error past 2^63.
uint64_t elementCount(const Shape &shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0; // byte offsets into the data section
  uint64_t end = 0;
  uint64_t byteSize() const { return end - begin; }
};

/// A validated, memory-mapped safetensors file. Every accessor that can fail
/// throws ModelIoError naming the file and the tensor.
class SafetensorsFile {
public:
  /// Maps and validates `path` (header length, JSON, every tensor's dtype,
  /// shape and offsets against each other and against the file size).
  static SafetensorsFile open(const std::string &path);

  /// The same validation on `size` bytes in memory, which the caller keeps
  /// alive while the result is used; `name` stands for the path in errors.
  static SafetensorsFile fromMemory(const void *data, size_t size, const std::string &name);

  const std::string &path() const { return file_.path(); }
  const std::vector<TensorInfo> &tensors() const { return tensors_; } // header order
  const Metadata &metadata() const { return metadata_; }

  /// nullptr when there is no such tensor.
  const TensorInfo *find(std::string_view name) const;
  /// Throws when there is no such tensor.
  const TensorInfo &get(std::string_view name) const;

  /// The tensor's bytes in the mapping (aligned as the writer aligned them).
  /// Read them inside guarded() (or use copyTo/readFloat32): the file may be
  /// truncated underneath.
  const unsigned char *data(const TensorInfo &tensor) const;

  /// Copies the bytes of `name` into dst, checking dtype and size first.
  void copyTo(std::string_view name, DType dtype, void *dst, size_t dstBytes) const;

  /// Converts `name` (F32, BF16 or F16) into `count` fp32 values at dst.
  void readFloat32(std::string_view name, float *dst, size_t count) const;

  /// MappedFile::guarded on this file's mapping.
  void guarded(FunctionRef<void()> fn) const { file_.guarded(fn); }

private:
  MappedFile file_;
  uint64_t dataStart_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> byName_;
  Metadata metadata_;

  void parseHeader();
};

/// One tensor to write: `data` holds elementCount(shape) * dtypeSize(dtype)
/// bytes in row-major order, or, when `data` is null, `read` copies any byte
/// range of them (a tensor that lives where the host has no pointer, e.g. on
/// the NVMe tier: written in chunks, never staged whole).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  const void *data = nullptr;
  std::function<void(uint64_t offset, void *dst, uint64_t bytes)> read;
};

/// Writes `tensors` to `path` atomically (AtomicFileWriter): either the whole
/// new file is in place or the previous file is untouched. The data section
/// is ordered by element size (largest first) and the header padded to 8
/// bytes, so every tensor is aligned to its element size in a mapping.
/// Throws ModelIoError (duplicate or empty names, negative dims, I/O).
void writeSafetensors(const std::string &path, const std::vector<TensorToWrite> &tensors,
                      const Metadata &metadata = {});

} // namespace off::model
