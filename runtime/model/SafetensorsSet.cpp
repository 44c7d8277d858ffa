#include "runtime/model/SafetensorsSet.h"

#include "runtime/model/FileIo.h"
#include "runtime/model/Json.h"
#include "runtime/model/ModelError.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>

namespace off::model {

namespace fs = std::filesystem;

namespace {

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

/// A shard name the index may use: a plain file name in its folder.
bool isPlainFileName(const std::string &name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

} // namespace

SafetensorsSet SafetensorsSet::open(const std::string &path) {
  SafetensorsSet set;
  set.path_ = path;
  std::error_code error;
  fs::path index;
  if (fs::is_directory(path, error)) {
    fs::path dir(path);
    if (fs::exists(dir / kWeightsIndexFile, error)) {
      index = dir / kWeightsIndexFile;
    } else if (fs::exists(dir / kSingleWeightsFile, error)) {
      set.source_ = (dir / kSingleWeightsFile).string();
    } else {
      throwFileError(path, std::string("is a directory without weights: it holds neither ") +
                               kWeightsIndexFile + " (sharded) nor " + kSingleWeightsFile);
    }
  } else if (endsWith(path, ".index.json")) {
    index = path;
  } else {
    set.source_ = path;
  }

  if (index.empty()) { // one file
    set.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(set.source_)));
    set.tensors_ = set.files_.back()->tensors();
    for (const TensorInfo &tensor : set.tensors_)
      set.fileIndex_[tensor.name] = 0;
    return set;
  }

  set.source_ = index.string();
  const std::string &where = set.source_;
  const Json json = parseJsonObject(readTextFile(where), where);
  const Json *map = jsonMember(json, "weight_map");
  if (!map || !map->is_object())
    throwFileError(where, "has no \"weight_map\" object (tensor name -> shard file)");
  if (map->empty())
    throwFileError(where, "\"weight_map\" names no tensor");
  // Shards in order of first mention; each opened and validated once.
  std::map<std::string, size_t> shardIndex;
  std::vector<std::vector<std::string>> shardTensors;
  std::vector<std::string> names;
  for (const auto &[name, shard] : map->items()) {
    if (!shard.is_string())
      throwFileError(where, "tensor '" + name + "': the shard is " + jsonKindName(shard) +
                                ", not a file name");
    const std::string &file = shard.get_ref<const std::string &>();
    if (!isPlainFileName(file))
      throwFileError(where, "tensor '" + name + "': shard '" + file +
                                "' is not a file name in the index's folder");
    auto [it, added] = shardIndex.emplace(file, shardTensors.size());
    if (added)
      shardTensors.emplace_back();
    shardTensors[it->second].push_back(name);
    names.push_back(name);
  }
  std::vector<std::string> shardNames(shardTensors.size());
  for (const auto &[file, i] : shardIndex)
    shardNames[i] = file;
  const fs::path folder = index.parent_path();
  for (size_t i = 0; i < shardNames.size(); ++i) {
    const std::string shardPath = (folder / shardNames[i]).string();
    if (!fs::exists(shardPath, error))
      throwFileError(where, "shard '" + shardNames[i] + "' (holding '" + shardTensors[i][0] +
                                "'" + (shardTensors[i].size() > 1 ? " and " +
                                           std::to_string(shardTensors[i].size() - 1) +
                                           " more" : std::string()) +
                                ") is missing: no file " + shardPath);
    set.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(shardPath)));
    const SafetensorsFile &file = *set.files_.back();
    for (const std::string &name : shardTensors[i])
      if (!file.find(name))
        throwFileError(where, "tensor '" + name + "' is mapped to shard '" + shardNames[i] +
                                  "', which does not hold it");
    for (const TensorInfo &tensor : file.tensors()) {
      auto mapped = map->find(tensor.name);
      if (mapped == map->end() || mapped->get_ref<const std::string &>() != shardNames[i])
        throwFileError(shardPath, "tensor '" + tensor.name + "' is not mapped to this shard by " +
                                      where);
      set.fileIndex_[tensor.name] = i;
    }
  }
  uint64_t total = 0;
  for (const std::string &name : names) {
    const TensorInfo &tensor = set.files_[set.fileIndex_.at(name)]->get(name);
    set.tensors_.push_back(tensor);
    total += tensor.byteSize();
  }
  if (const Json *metadata = jsonMember(json, "metadata"); metadata && metadata->is_object())
    if (const Json *size = jsonMember(*metadata, "total_size"))
      if (std::optional<uint64_t> declared = jsonUint64(*size); declared && *declared != total)
        throwFileError(where, "\"total_size\" is " + std::to_string(*declared) +
                                  " bytes, the shards' tensors hold " + std::to_string(total));
  return set;
}

const TensorInfo *SafetensorsSet::find(std::string_view name) const {
  auto found = fileIndex_.find(std::string(name));
  return found == fileIndex_.end() ? nullptr : files_[found->second]->find(name);
}

const SafetensorsFile &SafetensorsSet::fileOf(std::string_view name) const {
  auto found = fileIndex_.find(std::string(name));
  if (found == fileIndex_.end())
    throwFileError(source_, "no tensor '" + std::string(name) + "'");
  return *files_[found->second];
}

void SafetensorsSet::copyTo(std::string_view name, DType dtype, void *dst,
                            size_t dstBytes) const {
  fileOf(name).copyTo(name, dtype, dst, dstBytes);
}

void SafetensorsSet::readFloat32(std::string_view name, float *dst, size_t count) const {
  fileOf(name).readFloat32(name, dst, count);
}

std::string shardFileName(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", index, count);
  return name;
}

std::vector<std::string> writeSafetensorsSet(const std::string &dir,
                                             const std::vector<TensorToWrite> &tensors,
                                             uint64_t maxShardBytes, const Metadata &metadata) {
  std::vector<std::vector<TensorToWrite>> shards(1);
  uint64_t total = 0, current = 0;
  for (const TensorToWrite &tensor : tensors) {
    uint64_t bytes = elementCount(tensor.shape) * dtypeSize(tensor.dtype);
    if (maxShardBytes && current > 0 && current + bytes > maxShardBytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(tensor);
    current += bytes;
    total += bytes;
  }
  if (shards.size() == 1) {
    writeSafetensors((fs::path(dir) / kSingleWeightsFile).string(), tensors, metadata);
    return {kSingleWeightsFile};
  }
  std::vector<std::string> written;
  Json map = Json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = shardFileName(i + 1, shards.size());
    writeSafetensors((fs::path(dir) / name).string(), shards[i], metadata);
    for (const TensorToWrite &tensor : shards[i])
      map[tensor.name] = name;
    written.push_back(name);
  }
  Json index = {{"metadata", {{"total_size", total}}}, {"weight_map", map}};
  writeFileAtomically((fs::path(dir) / kWeightsIndexFile).string(), index.dump(2) + "\n");
  written.push_back(kWeightsIndexFile);
  return written;
}

} // namespace off::model
