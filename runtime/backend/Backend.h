// The interface every backend implements, and all that the executor and the
// plan loader see of one: arenas per memory tier (one allocation each, sized
// by the plan), streams that run work in order, events between streams,
// copies of byte ranges within and across tiers, kernel launches with their
// workspace, and synchronous transfers for loading weights and reading
// results between steps.
//
// The model is that of CUDA streams, so that a GPU backend fits as is:
// `launch`, `copy` and `record` enqueue work on a stream and may return
// before it is done (the CPU backend does it at once, on the calling thread);
// `wait` orders a stream after an event's point in another stream. The
// executor calls each stream's methods from that stream's own thread, in the
// plan's order, and calls `wait` only after the matching `record` has been
// issued (a CUDA event waited on before it is recorded would not order
// anything). `synchronize` blocks the calling thread until a stream's work is
// done. Streams of a host kind (runsOnHost: NVMe, the host optimizer) run
// their work on the CPU: a GPU backend makes their `wait` block the thread
// until the event's work has finished.
#pragma once

#include "runtime/backend/HostMemory.h"
#include "runtime/backend/Kernel.h"
#include "runtime/common/FunctionRef.h"
#include "runtime/common/Tier.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace off::backend {

/// What the executor asks for: one arena of the plan's table.
struct ArenaRequest {
  std::string label;       // "arena 'host.1'", for messages
  Tier tier = Tier::Device;
  uint64_t size = 0;
  /// The tier's budget (0: none). Arenas of one tier together may not
  /// exceed it: an allocation past the cap is an error, never growth.
  uint64_t budget = 0;
  /// Host tier: page-locked memory (how, and whether a refusal may fall back
  /// to pageable memory, is in `host`).
  bool pinned = false;
  HostMemoryOptions host;
};

/// One allocation in one tier; released when destroyed.
class Arena {
public:
  virtual ~Arena() = default;
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;

  Tier tier() const { return tier_; }
  uint64_t size() const { return size_; }
  /// The address kernels and copies use (a device address on a GPU).
  std::byte *data() const { return data_; }
  /// Whether the CPU may read and write data() directly.
  bool hostAccessible() const { return hostAccessible_; }
  /// Page-locked host memory.
  bool pinned() const { return pinned_; }

protected:
  Arena(Tier tier, uint64_t size, std::byte *data, bool hostAccessible, bool pinned)
      : tier_(tier), size_(size), data_(data), hostAccessible_(hostAccessible),
        pinned_(pinned) {}

private:
  Tier tier_;
  uint64_t size_;
  std::byte *data_;
  bool hostAccessible_, pinned_;
};

/// An ordered queue of work (a CUDA stream; a thread's program order on the
/// CPU). Backends derive their own.
class Stream {
public:
  virtual ~Stream() = default;
  StreamKind kind() const { return kind_; }
  const std::string &name() const { return name_; }

protected:
  Stream(StreamKind kind, std::string name) : kind_(kind), name_(std::move(name)) {}

private:
  StreamKind kind_;
  std::string name_;
};

/// A point in one stream that other streams can be ordered after (a
/// cudaEvent_t). Recorded once per step, waited on any number of times.
class Event {
public:
  virtual ~Event() = default;
};

/// Bytes a backend's arenas hold in one tier: now, and the most at once.
struct TierUsage {
  uint64_t current = 0;
  uint64_t peak = 0;
};

class Backend {
public:
  virtual ~Backend() = default;

  /// "cpu", "cuda".
  virtual const std::string &name() const = 0;
  /// Whether the compute stream's kernels run on this machine's CPU cores
  /// (the CPU backend), so that host work beside them (a host optimizer's
  /// AdamW) competes with them for cores; false for a GPU backend.
  virtual bool computesOnHost() const { return true; }

  /// The kernels a stream of `kind` runs (a GPU backend: its device kernels
  /// on the compute stream, runtime/optim's host kernels on the host
  /// optimizer's; the CPU backend: one table with both).
  virtual const KernelTable &kernels(StreamKind kind) const = 0;

  /// One allocation for an arena of the plan (never called for NVMe arenas:
  /// those are files of the executor's NVMe backend). Throws
  /// std::runtime_error when the tier's budget or the system refuses, and
  /// PinningError for a refused pinned host arena.
  virtual std::unique_ptr<Arena> allocateArena(const ArenaRequest &request) = 0;
  /// What this backend's live arenas hold in `tier`.
  virtual TierUsage usage(Tier tier) const = 0;

  virtual std::unique_ptr<Stream> createStream(StreamKind kind, const std::string &name) = 0;
  virtual std::unique_ptr<Event> createEvent() = 0;

  /// Runs `kernel` on `stream` with its arguments' addresses (in arenas of
  /// this backend) and `workspace` (at least kernel.workspaceBytes()).
  /// Throws what the kernel throws (a data error, e.g. an id out of range).
  virtual void launch(Stream &stream, const BoundKernel &kernel,
                      std::span<void *const> inputs, std::span<void *const> outputs,
                      std::span<std::byte> workspace, const StepContext &step) = 0;
  /// Copies `bytes` from `src` to `dst` on `stream` (any two arenas but NVMe;
  /// the ranges do not overlap).
  virtual void copy(Stream &stream, void *dst, const void *src, uint64_t bytes) = 0;
  /// Runs a host function in `stream`'s order: after the stream's earlier
  /// work has finished (host-side work of the executor, test kernels).
  virtual void hostTask(Stream &stream, FunctionRef<void()> task) = 0;

  /// Marks the current end of `stream`'s work in `event`.
  virtual void record(Stream &stream, Event &event) = 0;
  /// Orders `stream`'s later work after `event`'s point (already recorded).
  virtual void wait(Stream &stream, Event &event) = 0;
  /// Blocks until every piece of work issued on `stream` has finished.
  virtual void synchronize(Stream &stream) = 0;

  /// Synchronous copies between host memory and an arena (of any tier this
  /// backend allocates), outside a step: weights in, results out.
  virtual void upload(void *dst, const void *hostSrc, uint64_t bytes) = 0;
  virtual void download(void *hostDst, const void *src, uint64_t bytes) = 0;
};

} // namespace off::backend
