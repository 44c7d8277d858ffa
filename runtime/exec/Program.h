// The in-memory program the executor runs: arenas (one allocation each) in
// memory tiers, buffers as slices of arenas, and per stream an ordered list of
// instructions. A plan loader (runtime/plan) translates plan.bin into this;
// tests build programs directly.
#pragma once

#include "runtime/common/Tier.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace off::backend {
class BoundKernel;
}

namespace off::exec {

/// One allocation. `budget` caps `size` (0: no cap): a device arena larger
/// than the VRAM budget is a plan error, not something to allocate.
struct ArenaSpec {
  std::string name;
  Tier tier = Tier::Host;
  uint64_t size = 0;
  uint64_t budget = 0;
  bool pinned = true; // host tier only: page-locked (mlock / cudaHostAlloc)
};

using ArenaId = uint32_t;

/// A buffer: `size` bytes at `offset` in arena `arena`.
struct Slice {
  ArenaId arena = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t end() const { return offset + size; }
};

struct StreamSpec {
  std::string name;
  StreamKind kind = StreamKind::Compute;
};

using EventId = uint32_t;

/// The residency checker keeps one clock per stream in its shadow state.
constexpr uint32_t kMaxStreams = 16;

enum class Access : uint8_t { Read, Write, ReadWrite };

/// One kernel argument: the slice and the tier it must be resident in when
/// the kernel runs (a compute kernel reads the device tier, the host
/// optimizer the host tier). The residency checker holds the plan to it.
struct KernelArg {
  Slice slice;
  Tier tier = Tier::Device;
  Access access = Access::Read;
};

/// What a host kernel function receives: one pointer per argument, in order.
struct KernelCall {
  std::span<void *const> pointers;
  std::span<const KernelArg> args;
  template <typename T> T *arg(size_t i) const {
    return reinterpret_cast<T *>(pointers[i]);
  }
  /// Elements of type T in argument i.
  template <typename T> uint64_t count(size_t i) const {
    return args[i].slice.size / sizeof(T);
  }
};

/// A host function run in a stream's order (tests, host-side work). It
/// reports failure by throwing; the executor stops every stream and reports
/// which instruction failed with the exception's message.
using KernelFn = std::function<void(const KernelCall &)>;

/// A kernel: either a backend kernel, launched through Backend::launch with
/// `args` = its inputs, then its outputs, then (when `workspace`) one more
/// argument, its workspace; or a host function `fn` over the arguments.
struct KernelInstr {
  std::string name;
  std::vector<KernelArg> args;
  KernelFn fn;
  std::shared_ptr<const backend::BoundKernel> kernel;
  bool workspace = false; // the last argument is the kernel's workspace
};

/// Copy between memory tiers (device/host, either direction, or within one).
struct CopyInstr {
  Slice dst;
  Slice src;
};

/// Copy, then release the source range (it stops being resident; the
/// residency checker poisons it).
struct OffloadInstr {
  Slice dst;
  Slice src;
};

/// Releases a range: its contents are dead from here on.
struct FreeInstr {
  Slice slice;
};

/// NVMe -> host memory.
struct NvmeReadInstr {
  Slice dst; // host tier
  Slice src; // nvme tier
};

/// Host memory -> NVMe.
struct NvmeWriteInstr {
  Slice dst; // nvme tier
  Slice src; // host tier
};

/// Marks the point in this stream that waiters on `event` are ordered after.
/// Each event is recorded exactly once per run.
struct RecordInstr {
  EventId event = 0;
};

/// Blocks this stream until `event` has been recorded.
struct WaitInstr {
  EventId event = 0;
};

using Instruction =
    std::variant<KernelInstr, CopyInstr, OffloadInstr, FreeInstr,
                 NvmeReadInstr, NvmeWriteInstr, RecordInstr, WaitInstr>;

struct Stream {
  StreamSpec spec;
  std::vector<Instruction> instructions;
};

struct Program {
  std::vector<ArenaSpec> arenas;
  std::vector<Stream> streams;
  uint32_t eventCount = 0;
  /// Ranges that hold valid data when a run starts (parameters, optimizer
  /// state, the input batch written by the trainer): everything else is
  /// dead until an instruction writes it.
  std::vector<Slice> residentAtStart;
};

/// Throws std::runtime_error naming the first problem: a slice out of its
/// arena's bounds or of the wrong tier for its instruction, an arena over its
/// budget, an event recorded zero or several times or out of range, copies of
/// unequal sizes, or waits that can never be satisfied (a cycle of waits
/// between streams, which would hang).
void validate(const Program &program);

/// "arena 'device'[4096, +1024)".
std::string describe(const Program &program, const Slice &slice);
/// "stream 'h2d' instruction #3 (copy arena 'host'[0, +64) -> arena ...)".
std::string describe(const Program &program, uint32_t stream, uint32_t index);

/// A short tag for an instruction kind: "kernel 'add'", "copy", "wait e3".
std::string instructionSummary(const Program &program,
                               const Instruction &instruction);

} // namespace off::exec
