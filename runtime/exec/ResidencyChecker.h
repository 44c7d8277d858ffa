// The residency checker (`offrt train --check-residency`): proves, while a
// program runs, that every byte an instruction reads holds live data in the
// right tier and that the instruction that wrote it is ordered before the
// reader by the plan's own events, not merely by luck of timing.
//
// How: each stream keeps a vector clock (one counter per stream: how many
// instructions of that stream are ordered before this point). A record
// snapshots the recording stream's clock into the event; a wait merges the
// event's clock into the waiting stream's. Each byte range of each arena
// carries a shadow state: resident / never written / freed / offloaded, the
// (stream, index) that last wrote it and, per stream, the last instruction
// that read it. Before an instruction runs:
//   * a read needs the range resident, its writer ordered before it, and
//     that writer completed (counted per stream: this guards the executor
//     itself, e.g. a wait that returns when work is issued, not done);
//   * a write (also free / offload of the source) needs the last writer and
//     every reader ordered before it (else the write races with them).
// Any conflicting pair the plan leaves unordered is therefore reported
// whichever of the two happens to run first, so detection does not depend
// on timing. Freed and offloaded source ranges are poisoned with NaNs, so a
// read that slips past (e.g. by a kernel that lies about its arguments)
// still shows up in the numbers.
#pragma once

#include "runtime/exec/Program.h"

#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace off::exec {

class ResidencyViolation : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Fills [p, p + size) with 0x7FC07FC0 words, aligned to the arena (byte k
/// of the range gets byte (arenaOffset + k) % 4 of the word): every aligned
/// float32 is a quiet NaN, and so is every aligned bf16 / fp16.
void poisonWithNaN(std::byte *p, uint64_t size, uint64_t arenaOffset);
constexpr uint32_t kPoisonWord = 0x7FC07FC0u;

class ResidencyChecker {
public:
  explicit ResidencyChecker(const Program &program);

  /// Forgets the previous run: clocks to zero, everything dead except the
  /// program's residentAtStart ranges.
  void beginRun();
  /// Checks instruction `index` of `stream` against the shadow state and
  /// updates it; throws ResidencyViolation naming the stream, the
  /// instruction, the slice and what was wrong.
  void beforeInstruction(uint32_t stream, uint32_t index);
  /// The instruction has completed (a wait: the event was recorded).
  void afterInstruction(uint32_t stream, uint32_t index);

  /// The most bytes of `arena` that held live data at once in the last run.
  uint64_t peakResidentBytes(ArenaId arena) const;

private:
  enum class State : uint8_t { NeverWritten, Resident, Freed, Offloaded };
  static constexpr uint32_t kBeforeRun = 0xFFFFFFFFu;
  struct Segment {
    State state = State::NeverWritten;
    uint32_t writerStream = kBeforeRun;
    uint32_t writerClock = 0; // writer's index + 1
    std::array<uint32_t, kMaxStreams> readClock{}; // last read's index + 1
  };
  using Clock = std::array<uint32_t, kMaxStreams>;
  struct Context {
    uint32_t stream, index;
    const Clock &clock;
    std::string role; // "argument 1 (read)", "copy source", ...
  };

  // Segments of one arena: key = first byte; each runs to the next key.
  using SegmentMap = std::map<uint64_t, Segment>;
  SegmentMap::iterator splitAt(ArenaId arena, uint64_t offset);
  template <typename Fn> void forEachSegment(const Slice &slice, Fn fn);

  void read(const Context &access, const Slice &slice);
  void write(const Context &access, const Slice &slice, State newState);
  void setState(ArenaId arena, Segment &segment, uint64_t bytes, State state);
  [[noreturn]] void violation(const Context &access, const Slice &slice,
                              uint64_t begin, uint64_t end,
                              const std::string &problem) const;
  std::string writerText(const Segment &segment) const;

  const Program &program_;
  mutable std::mutex mutex_;
  std::vector<SegmentMap> segments_;
  std::vector<Clock> streamClock_;
  std::vector<Clock> eventClock_;
  std::vector<uint32_t> completed_; // per stream: instructions completed
  std::vector<uint64_t> residentBytes_, peakBytes_;
};

} // namespace off::exec
