//===- BufferAssignment.cpp - offsets for values with lifetimes -----------===//

#include "compiler/Plan/BufferAssignment.h"

#include <algorithm>
#include <numeric>

namespace mlir::off {

static uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

bool offsetsAlias(uint64_t a, uint64_t b) {
  uint64_t d = (a - b) % kAliasPeriod;
  return d < kAliasWindow || d > kAliasPeriod - kAliasWindow;
}

BufferLayout assignBuffers(const std::vector<BufferRequest> &requests,
                           uint64_t alignment,
                           const std::function<bool(size_t, size_t)> &mayShare) {
  BufferLayout layout;
  layout.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by first use then index, so the layout is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].size != requests[b].size)
      return requests[a].size > requests[b].size;
    return requests[a].firstUse < requests[b].firstUse;
  });

  struct Placed {
    uint64_t begin, end;
    int64_t firstUse, lastUse;
    size_t index;
  };
  std::vector<Placed> placed;
  for (size_t index : order) {
    const BufferRequest &req = requests[index];
    uint64_t size = alignUp(std::max<uint64_t>(req.size, 1), alignment);
    // Byte ranges taken by buffers alive at the same time, sorted by start.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    std::vector<uint64_t> largeStarts; // of those, the ones to stagger from
    for (const Placed &p : placed) {
      bool overlap = p.firstUse <= req.lastUse && req.firstUse <= p.lastUse;
      if (!overlap && (!mayShare || mayShare(p.index, index)))
        continue;
      busy.push_back({p.begin, p.end});
      if (p.end - p.begin >= kStaggerMinSize)
        largeStarts.push_back(p.begin);
    }
    std::sort(busy.begin(), busy.end());
    bool stagger = req.size >= kStaggerMinSize && !largeStarts.empty();
    // The first offset at or after `from` that does not alias.
    auto firstClean = [&](uint64_t from) {
      uint64_t offset = from;
      while (stagger && std::any_of(largeStarts.begin(), largeStarts.end(),
                                    [&](uint64_t s) { return offsetsAlias(offset, s); }))
        offset = alignUp(offset + kAliasWindow, alignment);
      return offset;
    };
    // Best fit: the smallest gap that holds the buffer, else after the last.
    uint64_t cursor = 0, bestOffset = UINT64_MAX, bestGap = UINT64_MAX;
    for (auto [begin, end] : busy) {
      if (begin > cursor && begin - cursor < bestGap) {
        uint64_t offset = firstClean(cursor);
        if (offset + size <= begin) {
          bestGap = begin - cursor;
          bestOffset = offset;
        }
      }
      cursor = std::max(cursor, end);
    }
    uint64_t offset = bestOffset != UINT64_MAX ? bestOffset : firstClean(cursor);
    layout.offsets[index] = offset;
    layout.arenaSize = std::max(layout.arenaSize, offset + size);
    placed.push_back({offset, offset + size, req.firstUse, req.lastUse, index});
  }
  return layout;
}

} // namespace mlir::off
