// Weights as one safetensors file or as Hugging Face shards with an index:
// the index and shards are written here by the spec (not by our writer) for
// the reader's tests, every broken piece is named in the error, and our
// sharded writer splits as save_pretrained does and reads back.
#include "runtime/model/SafetensorsSet.h"

#include "ModelTestUtil.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/TensorCheck.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace off::model {
namespace {

namespace fs = std::filesystem;
using testutil::errorOf;
using testutil::rawBytes;
using testutil::safetensorsBytes;
using testutil::ScratchDir;
using testutil::writeBytes;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

/// A shard holding one F32 tensor [n] with values base, base+1, ...
std::string shardBytes(const std::string &name, int n, float base) {
  std::vector<float> values(n);
  for (int i = 0; i < n; ++i)
    values[i] = base + float(i);
  std::string header = "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(n) +
                       "],\"data_offsets\":[0," + std::to_string(4 * n) + "]}}";
  while (header.size() % 8)
    header += ' ';
  return safetensorsBytes(header, rawBytes(values));
}

/// DIR with two shards (a: [3] in shard 1, b: [2] in shard 2) and an index.
struct ShardedDir {
  ScratchDir dir;
  ShardedDir(const std::string &index = "") {
    writeBytes(dir.file("model-00001-of-00002.safetensors"), shardBytes("a", 3, 1.0f));
    writeBytes(dir.file("model-00002-of-00002.safetensors"), shardBytes("b", 2, 10.0f));
    writeBytes(dir.file(kWeightsIndexFile),
               index.empty() ? R"({"metadata": {"total_size": 20}, "weight_map": {
                 "a": "model-00001-of-00002.safetensors",
                 "b": "model-00002-of-00002.safetensors"}})"
                             : index);
  }
};

TEST(SafetensorsSet, ReadsShardsThroughTheIndex) {
  ShardedDir sharded;
  for (const std::string &path : {sharded.dir.path(), sharded.dir.file(kWeightsIndexFile)}) {
    SafetensorsSet set = SafetensorsSet::open(path);
    EXPECT_EQ(set.shardCount(), 2u);
    ASSERT_EQ(set.tensors().size(), 2u);
    EXPECT_EQ(set.tensors()[0].name, "a");
    float b[2];
    set.readFloat32("b", b, 2);
    EXPECT_EQ(b[0], 10.0f);
    EXPECT_EQ(b[1], 11.0f);
    EXPECT_EQ(set.fileOf("a").path(), sharded.dir.file("model-00001-of-00002.safetensors"));
    EXPECT_EQ(set.find("c"), nullptr);
    checkTensors(set, {{"a", {3}, DType::F32}, {"b", {2}, DType::F32}});
  }
}

TEST(SafetensorsSet, ReadsOneFileOrADirectoryWithOne) {
  ScratchDir dir;
  writeBytes(dir.file(kSingleWeightsFile), shardBytes("w", 4, 0.5f));
  for (const std::string &path : {dir.path(), dir.file(kSingleWeightsFile)}) {
    SafetensorsSet set = SafetensorsSet::open(path);
    EXPECT_EQ(set.shardCount(), 1u);
    float w[4];
    set.readFloat32("w", w, 4);
    EXPECT_EQ(w[3], 3.5f);
  }
}

TEST(SafetensorsSet, NamesAMissingShardAndTheTensorsItHolds) {
  ShardedDir sharded;
  fs::remove(sharded.dir.file("model-00002-of-00002.safetensors"));
  std::string error = errorOf<ModelIoError>([&] { SafetensorsSet::open(sharded.dir.path()); });
  EXPECT_TRUE(contains(error, "shard 'model-00002-of-00002.safetensors' (holding 'b') is "
                              "missing"))
      << error;
  EXPECT_TRUE(contains(error, kWeightsIndexFile)) << error;
}

TEST(SafetensorsSet, NamesATensorTheIndexMapsToAShardWithoutIt) {
  ShardedDir sharded(R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
    "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})");
  std::string error = errorOf<ModelIoError>([&] { SafetensorsSet::open(sharded.dir.path()); });
  EXPECT_TRUE(contains(error, "tensor 'c' is mapped to shard "
                              "'model-00002-of-00002.safetensors', which does not hold it"))
      << error;
}

TEST(SafetensorsSet, NamesAShardTensorAbsentFromTheIndex) {
  ShardedDir sharded(R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})");
  // Shard 2 is not in the index: the set is shard 1 alone, and "b" is not
  // a tensor of it; a tensor the index leaves out of a listed shard is an error.
  SafetensorsSet set = SafetensorsSet::open(sharded.dir.path());
  EXPECT_EQ(set.find("b"), nullptr);
  std::string missing = errorOf<ModelIoError>([&] { checkTensors(set, {{"b", {2}, DType::F32}}); });
  EXPECT_TRUE(contains(missing, "tensor 'b': missing")) << missing;
  writeBytes(sharded.dir.file("model-00001-of-00002.safetensors"),
             shardBytes("x", 3, 1.0f)); // holds x, the index says a
  std::string error = errorOf<ModelIoError>([&] { SafetensorsSet::open(sharded.dir.path()); });
  EXPECT_TRUE(contains(error, "tensor 'a' is mapped to shard")) << error;
}

TEST(SafetensorsSet, ChecksEveryShardsBytesAndTheTotalSize) {
  ShardedDir sharded;
  std::string bytes = testutil::readBytes(sharded.dir.file("model-00002-of-00002.safetensors"));
  writeBytes(sharded.dir.file("model-00002-of-00002.safetensors"),
             bytes.substr(0, bytes.size() - 4)); // truncated
  std::string error = errorOf<ModelIoError>([&] { SafetensorsSet::open(sharded.dir.path()); });
  EXPECT_TRUE(contains(error, "model-00002-of-00002.safetensors")) << error;

  ShardedDir wrongTotal(R"({"metadata": {"total_size": 24}, "weight_map": {
    "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})");
  error = errorOf<ModelIoError>([&] { SafetensorsSet::open(wrongTotal.dir.path()); });
  EXPECT_TRUE(contains(error, "\"total_size\" is 24 bytes, the shards' tensors hold 20"))
      << error;
}

TEST(SafetensorsSet, RefusesShardPathsOutsideTheFolder) {
  ShardedDir sharded(R"({"weight_map": {"a": "../model-00001-of-00002.safetensors"}})");
  std::string error = errorOf<ModelIoError>([&] { SafetensorsSet::open(sharded.dir.path()); });
  EXPECT_TRUE(contains(error, "is not a file name in the index's folder")) << error;
}

TEST(SafetensorsSet, ADirectoryWithoutWeightsSaysWhatItLacks) {
  ScratchDir dir;
  std::string error = errorOf<ModelIoError>([&] { SafetensorsSet::open(dir.path()); });
  EXPECT_TRUE(contains(error, "holds neither model.safetensors.index.json (sharded) nor "
                              "model.safetensors"))
      << error;
}

TEST(SafetensorsSet, WriterShardsAsSavePretrainedAndReadsBack) {
  std::vector<float> big(100), small(10), medium(40);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = float(i);
  std::vector<TensorToWrite> tensors = {{"small", DType::F32, {10}, small.data()},
                                        {"big", DType::F32, {100}, big.data()},
                                        {"medium", DType::F32, {40}, medium.data()}};
  ScratchDir dir;
  // 40 + 400 + 160 bytes with shards of at most 200: [small], [big] (alone,
  // larger than the limit), [medium].
  std::vector<std::string> files = writeSafetensorsSet(dir.path(), tensors, 200);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[1], "model-00002-of-00003.safetensors");
  EXPECT_EQ(files.back(), kWeightsIndexFile);
  SafetensorsSet set = SafetensorsSet::open(dir.path());
  EXPECT_EQ(set.shardCount(), 3u);
  EXPECT_EQ(set.fileOf("big").path(), dir.file("model-00002-of-00003.safetensors"));
  std::vector<float> back(100);
  set.readFloat32("big", back.data(), back.size());
  EXPECT_EQ(back, big);
  // Under the limit: one model.safetensors, no index.
  ScratchDir single;
  EXPECT_EQ(writeSafetensorsSet(single.path(), tensors, 600),
            std::vector<std::string>{kSingleWeightsFile});
  EXPECT_FALSE(fs::exists(single.file(kWeightsIndexFile)));
}

} // namespace
} // namespace off::model
