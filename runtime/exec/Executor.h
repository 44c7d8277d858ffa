// The executor: runs a Program on a backend with one worker thread per
// stream.
//
// Each worker issues its stream's instructions in order to the backend
// (runtime/backend/Backend.h): arenas are the backend's allocations, kernels
// go through Backend::launch, copies through Backend::copy, events through
// record / wait, NVMe transfers through the NvmeBackend. Streams meet only at
// events: a wait blocks the worker until the matching record has been issued,
// then orders the backend stream after it. On the CPU backend every call
// does its work at once, so issuing is running. When any instruction fails
// (a kernel throws, an NVMe transfer fails, the residency checker finds a
// violation), every stream stops at its next instruction or wait, and run()
// throws ExecError naming the first failure.
#pragma once

#include "runtime/backend/Backend.h"
#include "runtime/exec/NvmeBackend.h"
#include "runtime/exec/Program.h"
#include "runtime/exec/ResidencyChecker.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace off::exec {

struct ExecutorOptions {
  /// Run the residency checker (and NaN-poison freed / offloaded ranges).
  bool checkResidency = false;
  /// CPUs per stream name (see parseStreamAffinity); streams not named are
  /// not pinned.
  std::map<std::string, std::vector<int>> affinity;
  /// Host-tier arenas: pinning, and whether a refusal may fall back.
  backend::HostMemoryOptions hostMemory;
  /// Needed when the program has NVMe arenas; not owned.
  NvmeBackend *nvme = nullptr;
  /// Called by a worker before each instruction (tracing; tests use it to
  /// inject delays). May throw: that fails the instruction.
  std::function<void(uint32_t stream, uint32_t index)> beforeInstruction;
  /// Called by a worker after each instruction that completed (profiling).
  std::function<void(uint32_t stream, uint32_t index)> afterInstruction;
};

class ExecError : public std::runtime_error {
public:
  ExecError(const std::string &message, uint32_t stream, uint32_t index)
      : std::runtime_error(message), stream(stream), index(index) {}
  uint32_t stream, index; // the instruction that failed first
};

class Executor {
public:
  /// Validates the program, allocates one block per arena on `backend`
  /// (throws backend::PinningError when a pinned arena is refused), creates
  /// a backend stream per stream and an event per event, starts the
  /// workers. `backend` is not owned and must outlive the executor.
  Executor(backend::Backend &backend, Program program, ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor &) = delete;
  Executor &operator=(const Executor &) = delete;

  /// Runs every stream to its end once (every stream's backend work done
  /// when it returns). `step` is handed to every kernel launched. Throws
  /// ExecError on failure; the executor stays usable for the next run. One
  /// run at a time.
  void run(const backend::StepContext &step = {});

  /// The host address of a slice, for loading weights and reading results
  /// between runs; throws std::invalid_argument when its arena is on NVMe or
  /// not host-accessible (a GPU's memory: use read / write).
  std::byte *pointer(const Slice &slice) const;
  /// Whether pointer() works for `slice` (its arena is in memory the host
  /// can address: not NVMe, not a GPU's).
  bool hostAddressable(const Slice &slice) const;
  /// Copies between host memory and the bytes [offset, offset + bytes) of a
  /// slice of any arena, between runs: NVMe-tier slices through the NVMe
  /// backend, others through the backend's upload / download.
  void write(const Slice &slice, uint64_t offset, const void *hostSrc, uint64_t bytes);
  void read(const Slice &slice, uint64_t offset, void *hostDst, uint64_t bytes) const;
  void write(const Slice &slice, const void *hostSrc, uint64_t bytes) {
    write(slice, 0, hostSrc, bytes);
  }
  void read(const Slice &slice, void *hostDst, uint64_t bytes) const {
    read(slice, 0, hostDst, bytes);
  }

  /// Blocks until the work issued so far on `stream` has finished. Called
  /// from that stream's thread during a run (a before-instruction hook that
  /// must read what the stream has computed, on a backend whose streams run
  /// asynchronously), or between runs.
  void synchronize(uint32_t stream) const;

  bool arenaPinned(ArenaId arena) const;
  /// The bytes this executor's arenas hold in `tier` (one allocation each).
  uint64_t arenaBytes(Tier tier) const;
  backend::Backend &backend() const { return backend_; }
  const Program &program() const { return program_; }
  /// Null unless options.checkResidency.
  const ResidencyChecker *checker() const { return checker_.get(); }

private:
  std::byte *address(const Slice &slice) const; // the backend's address
  void workerMain(uint32_t stream);
  void runStream(uint32_t stream);
  void execute(uint32_t stream, const Instruction &instruction);
  void nvmeTransfer(uint32_t stream, NvmeRequest::Op op, const Slice &nvme,
                    const Slice &host);
  void poison(uint32_t stream, const Slice &slice);
  void fail(uint32_t stream, uint32_t index, const std::string &message);
  void wakeAll(); // with mutex_ held

  backend::Backend &backend_;
  Program program_;
  ExecutorOptions options_;
  std::vector<std::unique_ptr<backend::Arena>> arenas_; // null for NVMe arenas
  std::vector<std::unique_ptr<backend::Stream>> streams_;
  std::vector<std::unique_ptr<backend::Event>> events_;
  std::vector<std::vector<void *>> pointers_; // per stream: kernel arguments
  const backend::StepContext *step_ = nullptr; // during run()
  std::unique_ptr<ResidencyChecker> checker_;

  // Run control and events share one lock. Each worker sleeps on its own
  // condition, so a record wakes only the streams waiting for that event
  // (waking everyone on every record costs more than the work on small
  // instructions).
  std::mutex mutex_;
  std::vector<std::unique_ptr<std::condition_variable>> wake_; // per stream
  std::vector<int64_t> waitingOn_; // per stream: the event awaited, or -1
  std::condition_variable runDone_; // the caller of run(), and startup
  uint64_t generation_ = 0; // incremented to start a run
  bool stopping_ = false;
  uint32_t finishedStreams_ = 0;
  uint32_t startedWorkers_ = 0;
  std::string startupError_;
  std::vector<char> recorded_; // per event, this run
  std::atomic<bool> aborted_{false};
  std::string error_;
  uint32_t errorStream_ = 0, errorIndex_ = 0;
  std::vector<std::thread> workers_;
};

} // namespace off::exec
