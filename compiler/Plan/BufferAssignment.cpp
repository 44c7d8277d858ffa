//===- BufferAssignment.cpp - offsets for values with lifetimes -----------===//
//
// Placed buffers are indexed by time (buckets of the time line, each listing
// the buffers alive in it) so that finding the ones alive with a request is
// proportional to how many there are. Buffers touched by another stream than
// the first (compute) are checked for order against every other request.
// Permanent buffers (alive with every request: params, optimizer states,
// constants, inputs; thousands in a 405B step) conflict with everything, so
// they are kept sorted once instead of being collected and sorted again for
// each request, and the long ones (a gradient alive until AdamW) are kept in
// order of their ranges and of their starts modulo the aliasing period, so
// those that conflict come out sorted. The gap search merges the sorted
// lists: the layout is the one sorting all of them for each request gives.
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
  std::vector<size_t> streamed, placedOrder; // indices of placed requests
  auto bucketOf = [&](int64_t t) { return size_t((t - begin) / bucketWidth); };

  // Permanent: overlaps every request's interval, whatever it is.
  int64_t minLast = INT64_MAX, maxFirst = INT64_MIN;
  for (const BufferRequest &r : requests) {
    minLast = std::min(minLast, r.lastUse);
    maxFirst = std::max(maxFirst, r.firstUse);
  }
  std::vector<char> permanent(requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    permanent[i] = requests[i].firstUse <= minLast && requests[i].lastUse >= maxFirst;
  std::vector<std::pair<uint64_t, uint64_t>> permanentBusy; // sorted
  std::vector<uint64_t> permanentLarge; // sorted starts modulo kAliasPeriod

  // What the conflict test reads first, packed (the requests themselves are
  // mostly clocks, and are read at random).
  struct Life {
    int64_t firstUse, lastUse;
    int stream;
  };
  std::vector<Life> lives(requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    lives[i] = {requests[i].firstUse, requests[i].lastUse, requests[i].stream};

  std::vector<uint64_t> placedBegin(requests.size()), placedEnd(requests.size());
  std::vector<uint32_t> seen(requests.size(), 0), conflicts(requests.size(), 0);
  // `always`, by placed range and (the large ones) by start modulo the period.
  std::vector<size_t> alwaysByRange, alwaysByAlias;
  std::vector<std::pair<uint64_t, uint64_t>> busyAlways;
  std::vector<uint64_t> largeAlways;
  uint32_t stamp = 0;
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  std::vector<uint64_t> largeStarts;
  for (size_t index : order) {
    const BufferRequest &req = requests[index];
    uint64_t size = alignUp(std::max<uint64_t>(req.size, 1), alignment);
    // Byte ranges taken by placed buffers that may be live at the same time.
    busy.clear();
    largeStarts.clear();
    // Only a large request is staggered, so only it needs the large starts.
    const bool staggered = req.size >= kStaggerMinSize;
    ++stamp;
    // Whether placed buffer p may be live at the same time as the request.
    auto conflict = [&](size_t p) {
      const Life &other = lives[p];
      bool overlap = other.firstUse <= req.lastUse && req.firstUse <= other.lastUse;
      if (overlap)
        return true;
      if (other.stream < 0 || req.stream < 0)
        return false; // one stream: the times order them
      bool otherFirst = other.lastUse < req.firstUse;
      return !(otherFirst ? orderedBefore(requests[p], req) : orderedBefore(req, requests[p]));
    };
    auto consider = [&](size_t p) {
      if (seen[p] == stamp || permanent[p]) // permanent: added below
        return;
      seen[p] = stamp;
      if (!conflict(p))
        return;
      busy.push_back({placedBegin[p], placedEnd[p]});
      if (staggered && placedEnd[p] - placedBegin[p] >= kStaggerMinSize)
        largeStarts.push_back(placedBegin[p]);
    };
    busyAlways.clear();
    largeAlways.clear();
    for (size_t p : alwaysByRange) {
      seen[p] = stamp;
      if (conflict(p)) {
        conflicts[p] = stamp;
        busyAlways.push_back({placedBegin[p], placedEnd[p]});
      }
    }
    if (staggered)
      for (size_t p : alwaysByAlias)
        if (conflicts[p] == stamp)
          largeAlways.push_back(placedBegin[p] % kAliasPeriod);
    for (size_t b = bucketOf(req.firstUse); b <= bucketOf(req.lastUse); ++b)
      for (size_t p : buckets[b])
        consider(p);
    for (size_t p : streamed) // ordered by events, not by time alone
      consider(p);
    if (!firstStreamOnly(req)) // the request is: check every placed buffer
      for (size_t p : placedOrder)
        if (seen[p] != stamp)
          consider(p);
    std::sort(busy.begin(), busy.end());
    bool stagger =
        staggered && !(largeStarts.empty() && largeAlways.empty() && permanentLarge.empty());
    // Their starts modulo the aliasing period, sorted, to look up neighbours.
    for (uint64_t &start : largeStarts)
      start %= kAliasPeriod;
    std::sort(largeStarts.begin(), largeStarts.end());
    // Whether a start in `starts` (sorted) is within the window of `at`.
    auto near = [](const std::vector<uint64_t> &starts, uint64_t at) {
      if (starts.empty())
        return false;
      auto it = std::lower_bound(starts.begin(), starts.end(),
                                 at >= kAliasWindow ? at - kAliasWindow + 1 : 0);
      if (it != starts.end() && *it < at + kAliasWindow)
        return true;
      // Across the period's wrap.
      return (at < kAliasWindow && starts.back() > kAliasPeriod - kAliasWindow + at) ||
             (at > kAliasPeriod - kAliasWindow &&
              starts.front() < at + kAliasWindow - kAliasPeriod);
    };
    auto aliases = [&](uint64_t offset) {
      uint64_t at = offset % kAliasPeriod;
      return near(largeStarts, at) || near(largeAlways, at) || near(permanentLarge, at);
    };
    // The first offset at or after `from` that does not alias.
    auto firstClean = [&](uint64_t from) {
      uint64_t offset = from;
      while (stagger && aliases(offset))
        offset = alignUp(offset + kAliasWindow, alignment);
      return offset;
    };
    // Best fit: the smallest gap that holds the buffer, else after the last.
    // The busy ranges in order: the three sorted lists merged.
    const std::vector<std::pair<uint64_t, uint64_t>> *lists[3] = {&busy, &busyAlways,
                                                                  &permanentBusy};
    size_t heads[3] = {0, 0, 0};
    uint64_t cursor = 0, bestOffset = UINT64_MAX, bestGap = UINT64_MAX;
    for (;;) {
      int pick = -1;
      for (int l = 0; l < 3; ++l)
        if (heads[l] < lists[l]->size() &&
            (pick < 0 || (*lists[l])[heads[l]] < (*lists[pick])[heads[pick]]))
          pick = l;
      if (pick < 0)
        break;
      auto [gapEnd, next] = (*lists[pick])[heads[pick]++];
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
    placedOrder.push_back(index);
    placedEnd[index] = offset + size;
    if (permanent[index]) {
      std::pair<uint64_t, uint64_t> range{offset, offset + size};
      permanentBusy.insert(
          std::upper_bound(permanentBusy.begin(), permanentBusy.end(), range), range);
      if (size >= kStaggerMinSize) {
        uint64_t at = offset % kAliasPeriod;
        permanentLarge.insert(
            std::upper_bound(permanentLarge.begin(), permanentLarge.end(), at), at);
      }
      continue;
    }
    if (req.lastUse - req.firstUse > span / 4) {
      auto byRange = [&](size_t a, size_t b) {
        return std::pair(placedBegin[a], placedEnd[a]) < std::pair(placedBegin[b], placedEnd[b]);
      };
      alwaysByRange.insert(
          std::upper_bound(alwaysByRange.begin(), alwaysByRange.end(), index, byRange), index);
      if (size >= kStaggerMinSize) {
        auto byAlias = [&](size_t a, size_t b) {
          return placedBegin[a] % kAliasPeriod < placedBegin[b] % kAliasPeriod;
        };
        alwaysByAlias.insert(
            std::upper_bound(alwaysByAlias.begin(), alwaysByAlias.end(), index, byAlias), index);
      }
    } else
      for (size_t b = bucketOf(req.firstUse); b <= bucketOf(req.lastUse); ++b)
        buckets[b].push_back(index);
    if (!firstStreamOnly(req))
      streamed.push_back(index);
  }
  return layout;
}

} // namespace mlir::off
