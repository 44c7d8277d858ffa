#include "runtime/common/Parallel.h"

#include <algorithm>
#include <memory>

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

unsigned resolveThreads(unsigned threads) {
  if (threads != 0)
    return threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}
} // namespace

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
  for (unsigned i = 1; i < threadCount_; ++i)
    workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &worker : workers_)
    worker.join();
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
