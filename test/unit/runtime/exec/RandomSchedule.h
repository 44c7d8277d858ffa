// Random but correct transfer/kernel schedules for the residency stress
// test, with the expected final memory computed by running the same
// operations one at a time in generation order (a sequential reference that
// shares no code with the executor or the checker).
//
// The generator models a small training loop: tensors live in host "homes"
// (resident at start), are prefetched into device slots (h2d), updated by
// compute kernels, written back or offloaded (d2h), dropped (free), updated
// by the host optimizer, saved to / loaded from NVMe and evicted from host.
// Each operation goes to its stream; for every earlier operation on another
// stream that it conflicts with (overlapping bytes, one of the two writes),
// it waits on an event recorded on that stream, and the waits are pruned to
// a minimal set: dropping any one of them leaves some conflicting pair
// unordered, which the checker must report.
#pragma once

#include "runtime/exec/Program.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace off::exec::testing {

enum class Breakage {
  None,
  /// One read of a freed / offloaded device slot or an evicted host home,
  /// properly ordered after the release: a use after free/offload.
  UseAfterRelease,
};

struct RandomSchedule {
  Program program;
  /// Per arena: bytes before the run (the executor's arenas start zeroed;
  /// host homes get random values). NVMe arenas start zeroed.
  std::vector<std::vector<std::byte>> initial;
  /// Per arena: bytes after running every operation in generation order,
  /// freed / offloaded ranges poisoned with 0x7FC07FC0 words.
  std::vector<std::vector<std::byte>> expected;
  /// UseAfterRelease: (stream, instruction index) of the bad read.
  std::optional<std::pair<uint32_t, uint32_t>> culprit;
};

/// Stream indices of the generated programs.
enum : uint32_t {
  kCompute,
  kH2D,
  kD2H,
  kNvmeRead,
  kNvmeWrite,
  kHostOptimizer,
  kStreamCount
};
/// Arena indices.
enum : ArenaId { kDeviceArena, kHostArena, kNvmeArena };

RandomSchedule makeRandomSchedule(uint64_t seed, Breakage breakage);

/// Number of wait instructions in the program.
size_t countWaits(const Program &program);
/// The program without its `which`-th wait (counting streams in order).
Program dropWait(const Program &program, size_t which);

} // namespace off::exec::testing
