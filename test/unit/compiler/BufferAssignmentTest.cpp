#include "compiler/Plan/BufferAssignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace mlir::off;

namespace {

bool livesOverlap(const BufferRequest &a, const BufferRequest &b) {
  return a.firstUse <= b.lastUse && b.firstUse <= a.lastUse;
}

TEST(BufferAssignment, DisjointLifetimesShareBytes) {
  // a and b never live together, c overlaps both.
  std::vector<BufferRequest> reqs = {{100, 0, 1}, {100, 2, 3}, {10, 1, 2}};
  BufferLayout layout = assignBuffers(reqs, 64);
  EXPECT_EQ(layout.offsets[0], layout.offsets[1]);
  EXPECT_EQ(layout.arenaSize, 128u + 64u);
}

TEST(BufferAssignment, RandomScheduleNeverOverlapsLiveBuffers) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::vector<BufferRequest> reqs(1 + rng() % 40);
    for (BufferRequest &r : reqs) {
      r.size = 1 + rng() % 5000;
      r.firstUse = rng() % 50;
      r.lastUse = r.firstUse + rng() % 20;
    }
    uint64_t alignment = 64;
    BufferLayout layout = assignBuffers(reqs, alignment);
    uint64_t peakLive = 0, total = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
      uint64_t size = (reqs[i].size + alignment - 1) / alignment * alignment;
      total += size;
      EXPECT_EQ(layout.offsets[i] % alignment, 0u);
      EXPECT_LE(layout.offsets[i] + size, layout.arenaSize);
      for (size_t j = i + 1; j < reqs.size(); ++j) {
        if (!livesOverlap(reqs[i], reqs[j]))
          continue;
        uint64_t endI = layout.offsets[i] + reqs[i].size;
        uint64_t endJ = layout.offsets[j] + reqs[j].size;
        EXPECT_TRUE(endI <= layout.offsets[j] || endJ <= layout.offsets[i])
            << "round " << round << ": buffers " << i << " and " << j << " overlap";
      }
    }
    for (int64_t t = 0; t < 80; ++t) {
      uint64_t live = 0;
      for (const BufferRequest &r : reqs)
        if (r.firstUse <= t && t <= r.lastUse)
          live += (r.size + alignment - 1) / alignment * alignment;
      peakLive = std::max(peakLive, live);
    }
    EXPECT_GE(layout.arenaSize, peakLive); // nothing can beat the live peak
    EXPECT_LE(layout.arenaSize, total);    // never worse than no reuse
  }
}

} // namespace
