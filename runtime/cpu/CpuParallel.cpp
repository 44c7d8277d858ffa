#include "runtime/cpu/CpuParallel.h"

#include "runtime/common/Parallel.h"

#include <algorithm>
#include <atomic>

namespace off::cpu {

namespace {
// Below this much work (~flops) a call stays on the calling thread: a
// parallelFor round trip (waking the workers, waiting for the last) measured
// 60-75 us on the 2-core VM, about as long as this much work takes.
constexpr int64_t kMinParallelWork = 1 << 18;
std::atomic<uint64_t> splits{0};
} // namespace

void parallelRange(int64_t n, int64_t workPerItem, FunctionRef<void(int64_t, int64_t)> fn) {
  if (n <= 0)
    return;
  int64_t work = std::max<int64_t>(workPerItem, 1);
  if (n == 1 || n * work < kMinParallelWork || defaultThreadCount() == 1) {
    fn(0, n);
    return;
  }
  // Pieces of at least kMinParallelWork / 8 flops each.
  size_t grain = size_t(std::max<int64_t>(1, kMinParallelWork / 8 / work));
  if (size_t(n) > grain)
    splits.fetch_add(1, std::memory_order_relaxed);
  parallelFor(
      0, size_t(n), [&](size_t begin, size_t end) { fn(int64_t(begin), int64_t(end)); },
      grain);
}

void parallelSlots(int64_t n, int64_t workPerItem,
                   FunctionRef<void(int64_t, int64_t, int64_t)> fn) {
  if (n <= 0)
    return;
  int64_t work = std::max<int64_t>(workPerItem, 1);
  int64_t slots = scratchSlots(n);
  if (slots == 1 || n * work < kMinParallelWork || defaultThreadCount() == 1) {
    fn(0, n, 0);
    return;
  }
  splits.fetch_add(1, std::memory_order_relaxed);
  parallelFor(0, size_t(slots), [&](size_t first, size_t last) {
    for (size_t slot = first; slot < last; ++slot) {
      auto [begin, end] = staticChunk(0, size_t(n), unsigned(slots), unsigned(slot));
      if (begin < end)
        fn(int64_t(begin), int64_t(end), int64_t(slot));
    }
  });
}

unsigned kernelThreads() { return defaultThreadCount(); }

uint64_t parallelRangeSplits() { return splits.load(std::memory_order_relaxed); }

} // namespace off::cpu
