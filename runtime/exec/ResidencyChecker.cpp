#include "runtime/exec/ResidencyChecker.h"

#include <algorithm>
#include <cstring>

namespace off::exec {

void poisonWithNaN(std::byte *p, uint64_t size, uint64_t arenaOffset) {
  unsigned char word[4];
  std::memcpy(word, &kPoisonWord, 4);
  uint64_t k = 0;
  // Head bytes up to the first 4-aligned arena offset, then whole words.
  for (; k < size && (arenaOffset + k) % 4 != 0; ++k)
    p[k] = std::byte{word[(arenaOffset + k) % 4]};
  for (; k + 4 <= size; k += 4)
    std::memcpy(p + k, word, 4);
  for (; k < size; ++k)
    p[k] = std::byte{word[(arenaOffset + k) % 4]};
}

ResidencyChecker::ResidencyChecker(const Program &program)
    : program_(program), segments_(program.arenas.size()),
      streamClock_(program.streams.size()), eventClock_(program.eventCount),
      completed_(program.streams.size()),
      residentBytes_(program.arenas.size()), peakBytes_(program.arenas.size()) {
  if (program.streams.size() > kMaxStreams)
    throw std::invalid_argument("residency checker: too many streams");
}

void ResidencyChecker::beginRun() {
  std::lock_guard lock(mutex_);
  for (size_t a = 0; a < segments_.size(); ++a) {
    segments_[a].clear();
    if (program_.arenas[a].size > 0)
      segments_[a].emplace(0, Segment{});
    residentBytes_[a] = peakBytes_[a] = 0;
  }
  std::fill(streamClock_.begin(), streamClock_.end(), Clock{});
  std::fill(eventClock_.begin(), eventClock_.end(), Clock{});
  std::fill(completed_.begin(), completed_.end(), 0);
  for (const Slice &slice : program_.residentAtStart)
    forEachSegment(slice, [&](uint64_t begin, uint64_t end, Segment &seg) {
      setState(slice.arena, seg, end - begin, State::Resident);
      seg.writerStream = kBeforeRun;
      seg.writerClock = 0;
      seg.readClock = {};
    });
}

ResidencyChecker::SegmentMap::iterator
ResidencyChecker::splitAt(ArenaId arena, uint64_t offset) {
  SegmentMap &map = segments_[arena];
  auto after = map.upper_bound(offset);
  auto containing = std::prev(after); // key 0 always exists
  if (containing->first == offset)
    return containing;
  return map.emplace_hint(after, offset, containing->second);
}

template <typename Fn>
void ResidencyChecker::forEachSegment(const Slice &slice, Fn fn) {
  if (slice.size == 0)
    return;
  uint64_t arenaSize = program_.arenas[slice.arena].size;
  auto it = splitAt(slice.arena, slice.offset);
  auto stop = slice.end() < arenaSize ? splitAt(slice.arena, slice.end())
                                      : segments_[slice.arena].end();
  for (; it != stop; ++it) {
    auto next = std::next(it);
    uint64_t end = next == segments_[slice.arena].end() ? arenaSize
                                                        : next->first;
    fn(it->first, end, it->second);
  }
}

void ResidencyChecker::setState(ArenaId arena, Segment &segment,
                                uint64_t bytes, State state) {
  bool was = segment.state == State::Resident;
  bool is = state == State::Resident;
  if (!was && is)
    residentBytes_[arena] += bytes;
  if (was && !is)
    residentBytes_[arena] -= bytes;
  peakBytes_[arena] = std::max(peakBytes_[arena], residentBytes_[arena]);
  segment.state = state;
}

std::string ResidencyChecker::writerText(const Segment &segment) const {
  if (segment.writerStream == kBeforeRun)
    return "the state before the run";
  return describe(program_, segment.writerStream, segment.writerClock - 1);
}

void ResidencyChecker::violation(const Context &access, const Slice &slice,
                                 uint64_t begin, uint64_t end,
                                 const std::string &problem) const {
  throw ResidencyViolation(
      "residency violation: " + describe(program_, access.stream,
                                         access.index) +
      ": " + access.role + " " + describe(program_, slice) + ": bytes [" +
      std::to_string(begin) + ", " + std::to_string(end) + ") " + problem);
}

void ResidencyChecker::read(const Context &access, const Slice &slice) {
  forEachSegment(slice, [&](uint64_t begin, uint64_t end, Segment &seg) {
    switch (seg.state) {
    case State::Resident: break;
    case State::NeverWritten:
      violation(access, slice, begin, end,
                "are not resident: nothing wrote them in this run and they "
                "are not in the program's resident-at-start list");
    case State::Freed:
      violation(access, slice, begin, end,
                "are not resident: freed by " + writerText(seg) +
                    " (use after free)");
    case State::Offloaded:
      violation(access, slice, begin, end,
                "are not resident: offloaded away by " + writerText(seg) +
                    " (use after offload; read the destination or prefetch "
                    "it back)");
    }
    uint32_t w = seg.writerStream;
    if (w != kBeforeRun && w != access.stream) {
      if (access.clock[w] < seg.writerClock)
        violation(access, slice, begin, end,
                  "were written by " + writerText(seg) +
                      ", which is not ordered before this instruction: no "
                      "wait on an event recorded after it (missing wait?)");
      if (completed_[w] < seg.writerClock)
        violation(access, slice, begin, end,
                  "were written by " + writerText(seg) +
                      ", which had not completed when this instruction "
                      "started although the plan orders it before (executor "
                      "bug: an event wait returned early)");
    }
    seg.readClock[access.stream] = access.index + 1;
  });
}

void ResidencyChecker::write(const Context &access, const Slice &slice,
                             State newState) {
  forEachSegment(slice, [&](uint64_t begin, uint64_t end, Segment &seg) {
    uint32_t w = seg.writerStream;
    if (w != kBeforeRun && w != access.stream &&
        access.clock[w] < seg.writerClock)
      violation(access, slice, begin, end,
                "were last written (or freed) by " + writerText(seg) +
                    ", which is not ordered before this write: the two race "
                    "(missing wait?)");
    for (uint32_t r = 0; r < program_.streams.size(); ++r)
      if (r != access.stream && seg.readClock[r] > access.clock[r])
        violation(access, slice, begin, end,
                  "are read by " + describe(program_, r, seg.readClock[r] - 1) +
                      ", which is not ordered before this write: the write "
                      "races with that read (missing wait?)");
    setState(slice.arena, seg, end - begin, newState);
    seg.writerStream = access.stream;
    seg.writerClock = access.index + 1;
    // Everything ordered after this write is ordered after those reads.
    seg.readClock = {};
  });
}

void ResidencyChecker::beforeInstruction(uint32_t stream, uint32_t index) {
  std::lock_guard lock(mutex_);
  const Instruction &in = program_.streams[stream].instructions[index];
  const Clock &clock = streamClock_[stream];
  auto access = [&](std::string role) {
    return Context{stream, index, clock, std::move(role)};
  };
  auto transfer = [&](const Slice &dst, const Slice &src, const char *what) {
    read(access(std::string(what) + " source"), src);
    write(access(std::string(what) + " destination"), dst, State::Resident);
  };
  if (auto *k = std::get_if<KernelInstr>(&in)) {
    auto role = [&](size_t i, const char *mode) {
      return "argument " + std::to_string(i) + " (" + mode + ", " +
             tierName(k->args[i].tier) + " tier)";
    };
    for (size_t i = 0; i < k->args.size(); ++i)
      if (k->args[i].access != Access::Write)
        read(access(role(i, k->args[i].access == Access::Read ? "read"
                                                              : "read-write")),
             k->args[i].slice);
    for (size_t i = 0; i < k->args.size(); ++i)
      if (k->args[i].access != Access::Read)
        write(access(role(i, k->args[i].access == Access::Write
                                 ? "write"
                                 : "read-write")),
              k->args[i].slice, State::Resident);
  } else if (auto *c = std::get_if<CopyInstr>(&in)) {
    transfer(c->dst, c->src, "copy");
  } else if (auto *o = std::get_if<OffloadInstr>(&in)) {
    transfer(o->dst, o->src, "offload");
    write(access("offloaded source"), o->src, State::Offloaded);
  } else if (auto *f = std::get_if<FreeInstr>(&in)) {
    write(access("freed range"), f->slice, State::Freed);
  } else if (auto *r = std::get_if<NvmeReadInstr>(&in)) {
    transfer(r->dst, r->src, "nvme-read");
  } else if (auto *w = std::get_if<NvmeWriteInstr>(&in)) {
    transfer(w->dst, w->src, "nvme-write");
  } else if (auto *rec = std::get_if<RecordInstr>(&in)) {
    eventClock_[rec->event] = clock;
    eventClock_[rec->event][stream] = index + 1;
  }
}

void ResidencyChecker::afterInstruction(uint32_t stream, uint32_t index) {
  std::lock_guard lock(mutex_);
  Clock &clock = streamClock_[stream];
  const Instruction &in = program_.streams[stream].instructions[index];
  if (auto *wait = std::get_if<WaitInstr>(&in)) {
    const Clock &event = eventClock_[wait->event];
    for (size_t s = 0; s < clock.size(); ++s)
      clock[s] = std::max(clock[s], event[s]);
  }
  clock[stream] = index + 1;
  completed_[stream] = index + 1;
}

uint64_t ResidencyChecker::peakResidentBytes(ArenaId arena) const {
  std::lock_guard lock(mutex_);
  return peakBytes_.at(arena);
}

} // namespace off::exec
