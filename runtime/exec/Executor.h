// The executor: runs a Program with one worker thread per stream.
//
// Each worker executes its stream's instructions in order; streams meet only
// at events (a wait blocks until the matching record has run). On the CPU
// backend kernels are plain calls, copies are memcpy on the copy stream's own
// thread, and the device arena is host memory with the device's cap. When
// any instruction fails (a kernel throws, an NVMe transfer fails, the
// residency checker finds a violation), every stream stops at its next
// instruction or wait, and run() throws ExecError naming the first failure.
#pragma once

#include "runtime/exec/HostMemory.h"
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
  HostMemoryOptions hostMemory;
  /// Needed when the program has NVMe arenas; not owned.
  NvmeBackend *nvme = nullptr;
  /// Called by a worker before each instruction (tracing; tests use it to
  /// inject delays). May throw: that fails the instruction.
  std::function<void(uint32_t stream, uint32_t index)> beforeInstruction;
};

class ExecError : public std::runtime_error {
public:
  ExecError(const std::string &message, uint32_t stream, uint32_t index)
      : std::runtime_error(message), stream(stream), index(index) {}
  uint32_t stream, index; // the instruction that failed first
};

class Executor {
public:
  /// Validates the program, allocates one block per arena (throws
  /// PinningError when a pinned arena is refused), starts the workers.
  explicit Executor(Program program, ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor &) = delete;
  Executor &operator=(const Executor &) = delete;

  /// Runs every stream to its end once. Throws ExecError on failure; the
  /// executor stays usable for the next run. One run at a time.
  void run();

  /// Host-visible memory of a slice (device arenas too, on this CPU
  /// backend): for loading weights and reading results between runs.
  std::byte *pointer(const Slice &slice) const;
  bool arenaPinned(ArenaId arena) const { return memory_.at(arena).pinned(); }
  const Program &program() const { return program_; }
  /// Null unless options.checkResidency.
  const ResidencyChecker *checker() const { return checker_.get(); }

private:
  void workerMain(uint32_t stream);
  void runStream(uint32_t stream);
  void execute(uint32_t stream, const Instruction &instruction);
  void nvmeTransfer(NvmeRequest::Op op, const Slice &nvme, const Slice &host);
  void poison(const Slice &slice);
  void fail(uint32_t stream, uint32_t index, const std::string &message);
  void wakeAll(); // with mutex_ held

  Program program_;
  ExecutorOptions options_;
  std::vector<HostMemory> memory_; // one per arena; empty for NVMe arenas
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
