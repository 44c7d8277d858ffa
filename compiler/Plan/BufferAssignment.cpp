//===- BufferAssignment.cpp - offsets for values with lifetimes -----------===//
//
// Placed buffers are indexed by time (buckets of the time line, each listing
// the buffers alive in it) so that finding the ones alive with a request is
// proportional to how many there are. Buffers touched by another stream than
// the first (compute) are checked for order against every other request.
//
//===----------------------------------------------------------------------===//

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

namespace {

/// Whether every access of `earlier` happens before `later`'s first write.
bool orderedBefore(const BufferRequest &earlier, const BufferRequest &later) {
  if (later.stream < 0 || earlier.stream < 0)
    return true; // one stream: times order them
  for (unsigned s = 0; s < kBufferStreams; ++s)
    if (earlier.lastOnStream[s] > later.writerClock[s])
      return false;
  return true;
}

/// Written and accessed on stream 0 (the compute stream) only, or without
/// streams: its order against any other such buffer is the times'.
bool firstStreamOnly(const BufferRequest &r) {
  if (r.stream < 0)
    return true;
  if (r.stream != 0)
    return false;
  for (unsigned s = 1; s < kBufferStreams; ++s)
    if (r.lastOnStream[s])
      return false;
  return true;
}

} // namespace

BufferLayout assignBuffers(const std::vector<BufferRequest> &requests, uint64_t alignment) {
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

  // The time line in buckets; a placed buffer is listed in every bucket its
  // interval touches, except the long ones (over a quarter of the time),
  // which are checked always.
  int64_t begin = 0, end = 1;
  for (const BufferRequest &r : requests) {
    begin = std::min(begin, r.firstUse);
    end = std::max(end, r.lastUse + 1);
  }
  const int64_t span = end - begin;
  const int64_t bucketWidth = std::max<int64_t>(1, span / 1024);
  std::vector<std::vector<size_t>> buckets(size_t(span / bucketWidth + 1));
  std::vector<size_t> always, streamed; // indices of placed requests
  auto bucketOf = [&](int64_t t) { return size_t((t - begin) / bucketWidth); };

  std::vector<uint64_t> placedBegin(requests.size()), placedEnd(requests.size());
  std::vector<uint32_t> seen(requests.size(), 0);
  uint32_t stamp = 0;
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  std::vector<uint64_t> largeStarts;
  for (size_t index : order) {
    const BufferRequest &req = requests[index];
    uint64_t size = alignUp(std::max<uint64_t>(req.size, 1), alignment);
    // Byte ranges taken by placed buffers that may be live at the same time.
    busy.clear();
    largeStarts.clear();
    ++stamp;
    auto consider = [&](size_t p) {
      if (seen[p] == stamp)
        return;
      seen[p] = stamp;
      const BufferRequest &other = requests[p];
      bool overlap = other.firstUse <= req.lastUse && req.firstUse <= other.lastUse;
      if (!overlap) {
        bool otherFirst = other.lastUse < req.firstUse;
        if (otherFirst ? orderedBefore(other, req) : orderedBefore(req, other))
          return;
      }
      busy.push_back({placedBegin[p], placedEnd[p]});
      if (placedEnd[p] - placedBegin[p] >= kStaggerMinSize)
        largeStarts.push_back(placedBegin[p]);
    };
    for (size_t p : always)
      consider(p);
    for (size_t b = bucketOf(req.firstUse); b <= bucketOf(req.lastUse); ++b)
      for (size_t p : buckets[b])
        consider(p);
    for (size_t p : streamed) // ordered by events, not by time alone
      consider(p);
    if (!firstStreamOnly(req)) // the request is: check every placed buffer
      for (size_t p = 0; p < requests.size(); ++p)
        if (seen[p] != stamp && placedEnd[p] > placedBegin[p])
          consider(p);
    std::sort(busy.begin(), busy.end());
    bool stagger = req.size >= kStaggerMinSize && !largeStarts.empty();
    // Their starts modulo the aliasing period, sorted, to look up neighbours.
    for (uint64_t &start : largeStarts)
      start %= kAliasPeriod;
    std::sort(largeStarts.begin(), largeStarts.end());
    auto aliases = [&](uint64_t offset) {
      uint64_t at = offset % kAliasPeriod;
      auto it = std::lower_bound(largeStarts.begin(), largeStarts.end(),
                                 at >= kAliasWindow ? at - kAliasWindow + 1 : 0);
      if (it != largeStarts.end() && *it < at + kAliasWindow)
        return true;
      // Across the period's wrap.
      return (at < kAliasWindow && largeStarts.back() > kAliasPeriod - kAliasWindow + at) ||
             (at > kAliasPeriod - kAliasWindow &&
              largeStarts.front() < at + kAliasWindow - kAliasPeriod);
    };
    // The first offset at or after `from` that does not alias.
    auto firstClean = [&](uint64_t from) {
      uint64_t offset = from;
      while (stagger && aliases(offset))
        offset = alignUp(offset + kAliasWindow, alignment);
      return offset;
    };
    // Best fit: the smallest gap that holds the buffer, else after the last.
    uint64_t cursor = 0, bestOffset = UINT64_MAX, bestGap = UINT64_MAX;
    for (auto [gapEnd, next] : busy) {
      if (gapEnd > cursor && gapEnd - cursor >= size && gapEnd - cursor < bestGap) {
        uint64_t offset = firstClean(cursor);
        if (offset + size <= gapEnd) {
          bestGap = gapEnd - cursor;
          bestOffset = offset;
        }
      }
      cursor = std::max(cursor, next);
    }
    uint64_t offset = bestOffset != UINT64_MAX ? bestOffset : firstClean(cursor);
    layout.offsets[index] = offset;
    layout.arenaSize = std::max(layout.arenaSize, offset + size);
    placedBegin[index] = offset;
    placedEnd[index] = offset + size;
    if (req.lastUse - req.firstUse > span / 4)
      always.push_back(index);
    else
      for (size_t b = bucketOf(req.firstUse); b <= bucketOf(req.lastUse); ++b)
        buckets[b].push_back(index);
    if (!firstStreamOnly(req))
      streamed.push_back(index);
  }
  return layout;
}

} // namespace mlir::off
