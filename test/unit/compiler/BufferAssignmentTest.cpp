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

// Four 256 MiB buffers alive together (AdamW's param, grad and moments):
// back to back they would start at addresses 256 MiB apart, which agree in
// bits 12-27 and thrash Zen's L1 way predictor; the assignment staggers them.
TEST(BufferAssignment, StaggersLargeBuffersAliveTogether) {
  const uint64_t big = uint64_t(256) << 20;
  std::vector<BufferRequest> reqs(4, BufferRequest{big, 0, 10});
  BufferLayout layout = assignBuffers(reqs, 64);
  for (size_t i = 0; i < reqs.size(); ++i)
    for (size_t j = i + 1; j < reqs.size(); ++j) {
      uint64_t a = layout.offsets[i], b = layout.offsets[j];
      uint64_t d = (a > b ? a - b : b - a) % (uint64_t(1) << 28);
      EXPECT_TRUE(d >= 4096 && d <= (uint64_t(1) << 28) - 4096)
          << "buffers " << i << " and " << j << " at " << a << " and " << b;
      EXPECT_TRUE(a + big <= b || b + big <= a);
    }
  // Staggering costs a few KiB per buffer, not a buffer.
  EXPECT_LE(layout.arenaSize, 4 * big + 4 * 8192);
  // Buffers that never live together may still share bytes.
  std::vector<BufferRequest> apart = {{big, 0, 1}, {big, 2, 3}};
  EXPECT_EQ(assignBuffers(apart, 64).arenaSize, big);
  // Small buffers are packed back to back as before.
  std::vector<BufferRequest> small(4, BufferRequest{4096, 0, 1});
  EXPECT_EQ(assignBuffers(small, 64).arenaSize, 4u * 4096);
}

// With streams, disjoint lifetimes share bytes only when the earlier
// buffer's last access (here on stream 2, at its 3rd op) happens before the
// later one's first write (on stream 0): its clock must count it.
TEST(BufferAssignment, SharesAcrossStreamsOnlyWhenOrdered) {
  BufferRequest copied{256, 0, 1};
  copied.stream = 0;
  copied.writerClock = {1, 0, 0, 0, 0, 0};
  copied.lastOnStream = {1, 0, 3, 0, 0, 0}; // read by stream 2 (a d2h copy)
  BufferRequest later{256, 2, 3};
  later.stream = 0;
  later.writerClock = {2, 0, 2, 0, 0, 0}; // has waited for 2 of stream 2's ops
  EXPECT_EQ(assignBuffers({copied, later}, 64).arenaSize, 512u);
  later.writerClock = {2, 0, 3, 0, 0, 0}; // has waited for the copy
  EXPECT_EQ(assignBuffers({copied, later}, 64).arenaSize, 256u);
  // On one stream, times alone decide.
  std::vector<BufferRequest> plain = {{256, 0, 1}, {256, 2, 3}};
  EXPECT_EQ(assignBuffers(plain, 64).arenaSize, 256u);
}

// The definition assignBuffers implements, written as plainly as possible:
// requests by decreasing size (then first use, then index); each takes the
// best-fitting gap among the placed buffers it may be live with (overlapping
// lifetimes, or not ordered by the streams), moved up past offsets that
// alias a large one. assignBuffers finds those buffers through time buckets
// and keeps permanent and long-lived ones sorted; the layout must not
// change.
BufferLayout referenceLayout(const std::vector<BufferRequest> &reqs, uint64_t alignment) {
  auto alignUp = [&](uint64_t v) { return (v + alignment - 1) / alignment * alignment; };
  auto ordered = [](const BufferRequest &earlier, const BufferRequest &later) {
    if (later.stream < 0 || earlier.stream < 0)
      return true;
    for (unsigned s = 0; s < kBufferStreams; ++s)
      if (earlier.lastOnStream[s] > later.writerClock[s])
        return false;
    return true;
  };
  std::vector<size_t> order(reqs.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (reqs[a].size != reqs[b].size)
      return reqs[a].size > reqs[b].size;
    return reqs[a].firstUse < reqs[b].firstUse;
  });
  BufferLayout layout;
  layout.offsets.assign(reqs.size(), 0);
  std::vector<size_t> placed;
  for (size_t index : order) {
    const BufferRequest &req = reqs[index];
    uint64_t size = alignUp(std::max<uint64_t>(req.size, 1));
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    std::vector<uint64_t> large;
    for (size_t p : placed) {
      const BufferRequest &other = reqs[p];
      bool overlap = livesOverlap(other, req);
      bool otherFirst = other.lastUse < req.firstUse;
      if (!overlap && (otherFirst ? ordered(other, req) : ordered(req, other)))
        continue;
      uint64_t begin = layout.offsets[p], end = begin + alignUp(std::max<uint64_t>(other.size, 1));
      busy.push_back({begin, end});
      if (end - begin >= kStaggerMinSize)
        large.push_back(begin);
    }
    std::sort(busy.begin(), busy.end());
    auto clean = [&](uint64_t from) {
      uint64_t offset = from;
      if (req.size < kStaggerMinSize)
        return offset;
      for (bool moved = true; moved;) {
        moved = false;
        for (uint64_t start : large)
          if (offsetsAlias(offset, start)) {
            offset = alignUp(offset + kAliasWindow);
            moved = true;
            break;
          }
      }
      return offset;
    };
    uint64_t cursor = 0, best = UINT64_MAX, bestGap = UINT64_MAX;
    for (auto [gapEnd, next] : busy) {
      if (gapEnd > cursor && gapEnd - cursor >= size && gapEnd - cursor < bestGap) {
        uint64_t offset = clean(cursor);
        if (offset + size <= gapEnd) {
          bestGap = gapEnd - cursor;
          best = offset;
        }
      }
      cursor = std::max(cursor, next);
    }
    uint64_t offset = best != UINT64_MAX ? best : clean(cursor);
    layout.offsets[index] = offset;
    layout.arenaSize = std::max(layout.arenaSize, offset + size);
    placed.push_back(index);
  }
  return layout;
}

// Random steps shaped like the memory level's: permanent buffers (params,
// states), long-lived ones (gradients kept until AdamW), short activations,
// compute-stream buffers with clocks that agree with the times, and buffers
// copied on other streams with random clocks; sizes from a few bytes to
// several 256 MiB periods so that staggering happens.
TEST(BufferAssignment, FastPathsGiveTheLayoutOfTheDefinition) {
  std::mt19937 rng(4321);
  for (int round = 0; round < 60; ++round) {
    const int64_t span = 20 + rng() % 200;
    std::vector<BufferRequest> reqs(1 + rng() % 150);
    for (BufferRequest &r : reqs) {
      switch (rng() % 5) {
      case 0: r.firstUse = 0, r.lastUse = span - 1; break;            // permanent
      case 1: r.firstUse = rng() % span, r.lastUse = span - 1; break; // until the end
      default: r.firstUse = rng() % span, r.lastUse = r.firstUse + rng() % 10; break;
      }
      switch (rng() % 4) {
      case 0: r.size = 1 + rng() % 4096; break;
      case 1: r.size = (64 << 10) + rng() % (1 << 20); break;
      case 2: r.size = (uint64_t(256) << 20) * (1 + rng() % 3) + 64 * (rng() % 3); break;
      default: r.size = 1 + rng() % (1 << 16); break;
      }
      switch (rng() % 3) {
      case 0: break; // one stream: times order it
      case 1:        // compute stream only, clocks as the times
        r.stream = 0;
        r.writerClock[0] = uint32_t(r.firstUse + 1);
        r.lastOnStream[0] = uint32_t(r.lastUse + 1);
        break;
      default: // written on some stream, read on others
        r.stream = int(rng() % kBufferStreams);
        for (unsigned s = 0; s < kBufferStreams; ++s) {
          r.writerClock[s] = rng() % 8;
          r.lastOnStream[s] = rng() % 3 ? 0 : 1 + rng() % 8;
        }
        r.lastOnStream[1 + rng() % (kBufferStreams - 1)] = 1 + rng() % 8;
        break;
      }
    }
    for (uint64_t alignment : {uint64_t(64), uint64_t(4096)}) {
      BufferLayout got = assignBuffers(reqs, alignment);
      BufferLayout want = referenceLayout(reqs, alignment);
      ASSERT_EQ(got.offsets, want.offsets) << "round " << round << ", alignment " << alignment;
      EXPECT_EQ(got.arenaSize, want.arenaSize);
    }
  }
}

} // namespace
