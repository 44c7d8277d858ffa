// Weights a plan references in a file: the values come back converted and
// (for a stored [K, N]) transposed, against values written here by hand; a
// file of another size, other bytes, or a range past its end is refused,
// naming the file and the weight.
#include "runtime/model/WeightRef.h"

#include "ModelTestUtil.h"
#include "runtime/common/SampleChecksum.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace off::model {
namespace {

using testutil::errorOf;
using testutil::rawBytes;
using testutil::ScratchDir;
using testutil::writeBytes;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

/// A file of 16 bytes of padding, then `data`; the ref to it.
WeightRef refTo(const std::string &path, const std::string &data, DType dtype,
                std::vector<int64_t> shape, bool transposed) {
  std::string bytes = std::string(16, 'x') + data;
  writeBytes(path, bytes);
  WeightRef ref;
  ref.name = "w";
  ref.path = path;
  ref.offset = 16;
  ref.dtype = dtype;
  ref.storedShape = std::move(shape);
  ref.transposed = transposed;
  ref.fileSize = bytes.size();
  ref.checksum = sampleChecksum(reinterpret_cast<const unsigned char *>(data.data()),
                                data.size());
  return ref;
}

TEST(WeightRef, ReadsF32AndTransposesAStoredKxN) {
  ScratchDir dir;
  // Stored [2, 3] = [[1, 2, 3], [4, 5, 6]]: the param [3, 2] is its transpose.
  std::vector<float> stored = {1, 2, 3, 4, 5, 6};
  WeightRef ref = refTo(dir.file("t.bin"), rawBytes(stored), DType::F32, {2, 3}, true);
  float out[6];
  readWeightRef(ref, out, 6);
  const float want[6] = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(out[i], want[i]) << i;
  ref.transposed = false;
  readWeightRef(ref, out, 6);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(out[i], stored[i]) << i;
}

TEST(WeightRef, ConvertsBf16AndF16) {
  ScratchDir dir;
  // bf16 0x3FC0 = 1.5, 0xC000 = -2; half 0x3E00 = 1.5, 0xC000 = -2.
  std::vector<uint16_t> bf16 = {0x3FC0, 0xC000}, half = {0x3E00, 0xC000};
  float out[2];
  readWeightRef(refTo(dir.file("b.bin"), rawBytes(bf16), DType::BF16, {2}, false), out, 2);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -2.0f);
  readWeightRef(refTo(dir.file("h.bin"), rawBytes(half), DType::F16, {2}, false), out, 2);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -2.0f);
}

TEST(WeightRef, RefusesAChangedFileNamingItAndTheWeight) {
  ScratchDir dir;
  std::vector<float> values(3000, 0.5f); // past 8 KiB: the checksum samples both ends
  const std::string path = dir.file("w.bin");
  WeightRef ref = refTo(path, rawBytes(values), DType::F32, {3000}, false);
  std::vector<float> out(3000);
  EXPECT_NO_THROW(readWeightRef(ref, out.data(), 3000));

  values.back() = 0.25f; // same size, other bytes at the end
  refTo(path, rawBytes(values), DType::F32, {3000}, false);
  std::string message = errorOf<ModelIoError>([&] { readWeightRef(ref, out.data(), 3000); });
  EXPECT_TRUE(contains(message, path) && contains(message, "weight 'w'") &&
              contains(message, "not those the plan was compiled against"))
      << message;

  values.push_back(1.0f); // another size
  writeBytes(path, std::string(16, 'x') + rawBytes(values));
  message = errorOf<ModelIoError>([&] { readWeightRef(ref, out.data(), 3000); });
  EXPECT_TRUE(contains(message, path) && contains(message, "bytes, but the plan was compiled"))
      << message;

  WeightRef past = refTo(path, rawBytes(values), DType::F32, {3001}, false);
  past.offset = past.fileSize - 8;
  message = errorOf<ModelIoError>([&] { readWeightRef(past, out.data(), 3001); });
  EXPECT_TRUE(contains(message, "past the end of the file")) << message;

  message = errorOf<ModelIoError>([&] { readWeightRef(ref, out.data(), 12); });
  EXPECT_TRUE(contains(message, "the plan's parameter has 12 elements")) << message;
}

} // namespace
} // namespace off::model
