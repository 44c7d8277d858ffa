// The rank-order sums against hand-computed cases, and the one-rank
// communicator.
#include "runtime/comm/Communicator.h"
#include "runtime/comm/RankOrderSum.h"
#include "runtime/common/Float16.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace off;
using namespace off::comm;

// (1e8 + 1) - 1e8 is 0 in fp32 ((1e8 + 1) rounds to 1e8), while
// (1e8 - 1e8) + 1 is 1: the order is rank 0, 1, 2 exactly.
TEST(RankOrderSum, F32AddsLeftToRightInRankOrder) {
  const float parts[] = {1e8f, 5.f, /*rank 1*/ 1.f, -5.f, /*rank 2*/ -1e8f, 0.25f};
  float out[2];
  sumInRankOrder(parts, 3, 2, DType::F32, out);
  EXPECT_EQ(out[0], 0.f);
  EXPECT_EQ(out[1], 0.25f);
  const float reordered[] = {1e8f, -1e8f, 1.f};
  sumInRankOrder(reordered, 3, 1, DType::F32, out);
  EXPECT_EQ(out[0], 1.f);
}

// bf16 parts are added as one rank's bf16 plan adds micro-batch gradients:
// each addition rounded to bf16. 256 + 1 rounds to even (256) twice, so
// 256 + 1 + 1 is 256, where one rounding at the end would give 258; in the
// other order, 1 + 1 + 256 is 258.
TEST(RankOrderSum, Bf16RoundsAfterEachAdditionInRankOrder) {
  const uint16_t parts[] = {floatToBf16(256.f), floatToBf16(1.f), floatToBf16(1.f)};
  uint16_t out;
  sumInRankOrder(parts, 3, 1, DType::BF16, &out);
  EXPECT_EQ(bf16ToFloat(out), 256.f);
  const uint16_t reordered[] = {floatToBf16(1.f), floatToBf16(1.f), floatToBf16(256.f)};
  sumInRankOrder(reordered, 3, 1, DType::BF16, &out);
  EXPECT_EQ(bf16ToFloat(out), 258.f);
  uint16_t pairwise = parts[0];
  addBf16Rounded(&parts[1], &pairwise, 1);
  addBf16Rounded(&parts[2], &pairwise, 1);
  EXPECT_EQ(bf16ToFloat(pairwise), 256.f);
}

TEST(RankOrderSum, ManyBlocks) {
  const int ranks = 4;
  const uint64_t count = 5000; // more than one block of 2048
  std::vector<float> parts(ranks * count);
  for (size_t i = 0; i < parts.size(); ++i)
    parts[i] = float(i % 13) - 6.f;
  std::vector<float> out(count);
  sumInRankOrder(parts.data(), ranks, count, DType::F32, out.data());
  for (uint64_t i = 0; i < count; ++i)
    EXPECT_EQ(out[i], parts[i] + parts[count + i] + parts[2 * count + i] + parts[3 * count + i])
        << i;
}

TEST(RankOrderSum, RefusesIntegers) {
  int32_t parts[2] = {1, 2}, out;
  EXPECT_THROW(sumInRankOrder(parts, 2, 1, DType::I32, &out), CommError);
}

TEST(LocalCommunicator, OneRankCopies) {
  auto comm = createLocalCommunicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  float data[3] = {1, 2, 3}, out[3] = {};
  comm->allReduce(data, 3, DType::F32);
  EXPECT_EQ(data[2], 3.f);
  comm->reduceScatter(data, out, 3, DType::F32);
  EXPECT_EQ(std::memcmp(data, out, sizeof data), 0);
  int64_t ids[2] = {7, 9}, gathered[2] = {};
  comm->allGather(ids, gathered, 2, DType::I64);
  EXPECT_EQ(gathered[1], 9);
  EXPECT_THROW(comm->allReduce(ids, 2, DType::I64), CommError);
}
