//===- BufferAssignment.cpp - offsets for values with lifetimes -----------===//

#include "compiler/Plan/BufferAssignment.h"

#include <algorithm>
#include <numeric>

namespace mlir::off {

static uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

BufferLayout assignBuffers(const std::vector<BufferRequest> &requests,
                           uint64_t alignment) {
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
  };
  std::vector<Placed> placed;
  for (size_t index : order) {
    const BufferRequest &req = requests[index];
    uint64_t size = alignUp(std::max<uint64_t>(req.size, 1), alignment);
    // Byte ranges taken by buffers alive at the same time, sorted by start.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (const Placed &p : placed)
      if (p.firstUse <= req.lastUse && req.firstUse <= p.lastUse)
        busy.push_back({p.begin, p.end});
    std::sort(busy.begin(), busy.end());
    // Best fit: the smallest gap that holds the buffer, else after the last.
    uint64_t cursor = 0, bestOffset = UINT64_MAX, bestGap = UINT64_MAX;
    for (auto [begin, end] : busy) {
      if (begin > cursor && begin - cursor >= size && begin - cursor < bestGap) {
        bestGap = begin - cursor;
        bestOffset = cursor;
      }
      cursor = std::max(cursor, end);
    }
    uint64_t offset = bestOffset != UINT64_MAX ? bestOffset : cursor;
    layout.offsets[index] = offset;
    layout.arenaSize = std::max(layout.arenaSize, offset + size);
    placed.push_back({offset, offset + size, req.firstUse, req.lastUse});
  }
  return layout;
}

} // namespace mlir::off
