// A model's weights as Hugging Face stores them: one safetensors file, or
// shards named by an index (`model.safetensors.index.json`):
//
//   DIR/config.json
//   DIR/model.safetensors.index.json   {"metadata": {"total_size": BYTES},
//                                       "weight_map": {"NAME": "SHARD", ...}}
//   DIR/model-00001-of-00002.safetensors
//   DIR/model-00002-of-00002.safetensors
//
// Opening checks everything before a byte is used: every shard the index
// names exists and is a valid safetensors file (SafetensorsFile::open: its
// header against its size), every tensor the index maps is in its shard,
// every tensor of a shard is mapped to it, no name is in two shards, and the
// index's total_size (when present) is the tensors' bytes. Errors name the
// file and the shard or tensor at fault.
//
// Writing (writeSafetensorsSet) splits tensors into shards of at most
// `maxShardBytes` in order, as transformers' save_pretrained does (a tensor
// larger than that gets a shard of its own), so `from_pretrained` reads them.
#pragma once

#include "runtime/model/Safetensors.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace off::model {

inline constexpr const char *kSingleWeightsFile = "model.safetensors";
inline constexpr const char *kWeightsIndexFile = "model.safetensors.index.json";

class SafetensorsSet {
public:
  /// `path`: a .safetensors file; an index file (*.index.json); or a
  /// directory holding model.safetensors.index.json or model.safetensors
  /// (a Hugging Face model directory, or one of our checkpoints).
  static SafetensorsSet open(const std::string &path);

  /// The path as given.
  const std::string &path() const { return path_; }
  /// The index file, or the single file when there is no index.
  const std::string &source() const { return source_; }
  size_t shardCount() const { return files_.size(); }

  /// Every tensor (index order for shards, header order for one file).
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// nullptr when there is no such tensor.
  const TensorInfo *find(std::string_view name) const;
  /// The file holding `name` (throws when there is no such tensor).
  const SafetensorsFile &fileOf(std::string_view name) const;

  /// As SafetensorsFile::copyTo / readFloat32, from the tensor's shard.
  void copyTo(std::string_view name, DType dtype, void *dst, size_t dstBytes) const;
  void readFloat32(std::string_view name, float *dst, size_t count) const;

private:
  std::string path_, source_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> fileIndex_; // tensor -> files_ index
};

/// "model-00001-of-00003.safetensors"
std::string shardFileName(size_t index, size_t count);

/// Writes `tensors` into directory `dir` as model.safetensors when their
/// bytes are at most `maxShardBytes` (0: no limit), else as shards and
/// model.safetensors.index.json. Every file goes through AtomicFileWriter.
/// Returns the files written (names, relative to dir).
std::vector<std::string> writeSafetensorsSet(const std::string &dir,
                                             const std::vector<TensorToWrite> &tensors,
                                             uint64_t maxShardBytes,
                                             const Metadata &metadata = {});

} // namespace off::model
