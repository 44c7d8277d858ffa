// A small persistent thread pool for the CPU kernels (Adam, the CPU backend).
//
// Determinism: parallelFor splits [begin, end) into contiguous chunks by a
// fixed rule that depends only on (begin, end, grain, thread count), never on
// timing, so the same thread count always gives the same partition and a
// kernel that reduces per chunk gives the same bits run after run.
#pragma once

#include "runtime/common/FunctionRef.h"

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace off {

/// Chunk `index` of `parts` when [begin, end) is cut into `parts` contiguous
/// pieces whose boundaries fall on multiples of `grain` from `begin` (the last
/// piece ends at `end`). The first (grains % parts) pieces get one grain more.
/// Pieces past the number of grains are empty ({end, end}).
std::pair<size_t, size_t> staticChunk(size_t begin, size_t end, unsigned parts,
                                      unsigned index, size_t grain = 1);

class ThreadPool {
public:
  /// Called only during parallelFor (a reference, never stored past it: no
  /// allocation however much the callable captures).
  using RangeFn = FunctionRef<void(size_t chunkBegin, size_t chunkEnd)>;

  /// `threads` workers in all, the calling thread included; 0 means
  /// availableCpus(). A worker that cannot be created (the process or user
  /// thread limit) is a std::runtime_error saying which and why, after the
  /// workers already started are stopped: never a hang or an abort.
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned threadCount() const { return threadCount_; }

  /// Runs fn over staticChunk(begin, end, threadCount(), i, grain) for every
  /// thread i, chunk 0 on the calling thread, and returns when all are done.
  /// The first exception thrown by any chunk is rethrown here (the other
  /// chunks still run to completion). Calls from several threads are
  /// serialised; a call from inside a chunk runs serially on that thread
  /// (no deadlock, same partition rule with one part).
  void parallelFor(size_t begin, size_t end, const RangeFn &fn, size_t grain = 1);

private:
  void workerLoop(unsigned index);
  void stopWorkers();
  void runChunk(unsigned index);

  unsigned threadCount_;
  std::vector<std::thread> workers_;
  std::mutex callMutex_; // one parallelFor at a time

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  size_t generation_ = 0; // bumped per job; workers wait for a new value
  unsigned pending_ = 0;  // workers still running the current job
  bool stopping_ = false;

  // The current job (valid while pending_ > 0).
  const RangeFn *fn_ = nullptr;
  size_t begin_ = 0, end_ = 0, grain_ = 1;
  std::exception_ptr error_;
};

/// The CPUs this process may run on (sched_getaffinity: taskset, cgroup
/// cpusets), at least 1. More compute threads than this only take turns.
unsigned availableCpus();

/// Empty when `threads` (a --threads value) is at most availableCpus();
/// otherwise why not, naming the limit.
std::string threadCountProblem(unsigned threads);

/// The process-wide pool, created on first use with defaultThreadCount().
ThreadPool &defaultThreadPool();

/// Sets the size of the process-wide pool (0 = availableCpus()). Takes
/// effect by recreating the pool; must not race with its use.
void setDefaultThreadCount(unsigned threads);
unsigned defaultThreadCount();

/// defaultThreadPool().parallelFor(...).
void parallelFor(size_t begin, size_t end, const ThreadPool::RangeFn &fn,
                 size_t grain = 1);

} // namespace off
