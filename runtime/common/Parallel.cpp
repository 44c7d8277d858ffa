#include "runtime/common/Parallel.h"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <sched.h>
#include <stdexcept>
#include <system_error>

namespace off {

namespace {
// Set while a thread runs a chunk, so that a nested parallelFor runs serially
// instead of waiting on workers that are busy running its parent.
thread_local bool insideChunk = false;

struct ChunkScope {
  bool previous;
  ChunkScope() : previous(insideChunk) { insideChunk = true; }
  ~ChunkScope() { insideChunk = previous; }
};

unsigned resolveThreads(unsigned threads) { return threads != 0 ? threads : availableCpus(); }
} // namespace

unsigned availableCpus() {
  // The mask grows until the kernel accepts it (machines past CPU_SETSIZE).
  for (int cpus = CPU_SETSIZE;; cpus *= 2) {
    cpu_set_t *set = CPU_ALLOC(cpus);
    if (!set)
      break;
    size_t bytes = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(bytes, set);
    if (sched_getaffinity(0, bytes, set) == 0) {
      int count = CPU_COUNT_S(bytes, set);
      CPU_FREE(set);
      return count > 0 ? unsigned(count) : 1;
    }
    int err = errno;
    CPU_FREE(set);
    if (err != EINVAL || cpus > (1 << 20))
      break;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

std::string threadCountProblem(unsigned threads) {
  unsigned cpus = availableCpus();
  if (threads <= cpus)
    return "";
  return std::to_string(threads) + " threads is more than the " + std::to_string(cpus) +
         " CPU" + (cpus == 1 ? "" : "s") +
         " this process may run on (its CPU affinity: taskset, cgroup cpuset); give at most " +
         std::to_string(cpus);
}

std::pair<size_t, size_t> staticChunk(size_t begin, size_t end, unsigned parts,
                                      unsigned index, size_t grain) {
  if (end <= begin || parts == 0 || index >= parts)
    return {end, end};
  if (grain == 0)
    grain = 1;
  size_t length = end - begin;
  size_t grains = length / grain + (length % grain != 0);
  size_t base = grains / parts, extra = grains % parts;
  // Chunk i starts after i * base grains plus one for each earlier chunk
  // that got an extra one.
  size_t firstGrain = index * base + (index < extra ? index : extra);
  size_t grainCount = base + (index < extra ? 1 : 0);
  size_t chunkBegin = begin + std::min(length, firstGrain * grain);
  size_t chunkEnd = begin + std::min(length, (firstGrain + grainCount) * grain);
  return {chunkBegin, chunkEnd};
}

ThreadPool::ThreadPool(unsigned threads) : threadCount_(resolveThreads(threads)) {
  workers_.reserve(threadCount_ - 1);
  try {
    for (unsigned i = 1; i < threadCount_; ++i)
      workers_.emplace_back([this, i] { workerLoop(i); });
  } catch (const std::system_error &error) {
    // The destructor does not run for a constructor that throws: stop the
    // workers already started here (a joinable std::thread left behind would
    // terminate the process).
    unsigned started = unsigned(workers_.size()) + 1;
    stopWorkers();
    throw std::runtime_error(
        "cannot start compute thread " + std::to_string(started + 1) + " of " +
        std::to_string(threadCount_) + ": " + error.code().message() +
        " (the process or user thread limit, ulimit -u or the cgroup's pids.max, is "
        "below the threads this run needs; give fewer threads)");
  }
}

ThreadPool::~ThreadPool() { stopWorkers(); }

void ThreadPool::stopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &worker : workers_)
    worker.join();
  workers_.clear();
}

void ThreadPool::runChunk(unsigned index) {
  auto [chunkBegin, chunkEnd] = staticChunk(begin_, end_, threadCount_, index, grain_);
  if (chunkBegin == chunkEnd)
    return;
  try {
    ChunkScope scope;
    (*fn_)(chunkBegin, chunkEnd);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_)
      error_ = std::current_exception();
  }
}

void ThreadPool::workerLoop(unsigned index) {
  size_t seenGeneration = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seenGeneration; });
      if (stopping_)
        return;
      seenGeneration = generation_;
    }
    runChunk(index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0)
        done_.notify_one();
    }
  }
}

void ThreadPool::parallelFor(size_t begin, size_t end, const RangeFn &fn, size_t grain) {
  if (end <= begin)
    return;
  if (threadCount_ == 1 || insideChunk) {
    ChunkScope scope;
    fn(begin, end);
    return;
  }
  std::lock_guard<std::mutex> call(callMutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    begin_ = begin;
    end_ = end;
    grain_ = grain == 0 ? 1 : grain;
    error_ = nullptr;
    pending_ = threadCount_ - 1;
    ++generation_;
  }
  wake_.notify_all();
  runChunk(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    fn_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error)
    std::rethrow_exception(error);
}

namespace {
std::mutex defaultPoolMutex;
unsigned defaultThreads = 0; // 0 = hardware concurrency
std::unique_ptr<ThreadPool> defaultPool;
} // namespace

ThreadPool &defaultThreadPool() {
  std::lock_guard<std::mutex> lock(defaultPoolMutex);
  if (!defaultPool)
    defaultPool = std::make_unique<ThreadPool>(defaultThreads);
  return *defaultPool;
}

void setDefaultThreadCount(unsigned threads) {
  std::lock_guard<std::mutex> lock(defaultPoolMutex);
  if (defaultPool && defaultPool->threadCount() == resolveThreads(threads)) {
    defaultThreads = threads;
    return;
  }
  defaultThreads = threads;
  defaultPool.reset();
}

unsigned defaultThreadCount() {
  std::lock_guard<std::mutex> lock(defaultPoolMutex);
  return resolveThreads(defaultThreads);
}

void parallelFor(size_t begin, size_t end, const ThreadPool::RangeFn &fn, size_t grain) {
  defaultThreadPool().parallelFor(begin, end, fn, grain);
}

} // namespace off
