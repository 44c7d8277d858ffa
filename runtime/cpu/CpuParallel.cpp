#include "runtime/cpu/CpuParallel.h"

#include "runtime/common/Parallel.h"

#include <algorithm>

namespace off::cpu {

namespace {
// Below this much work (flops) a call stays on the calling thread: waking
// the pool costs a few microseconds, about as much as this many flops.
constexpr int64_t kMinParallelWork = 1 << 15;
} // namespace

void parallelRange(int64_t n, int64_t workPerItem,
                   const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0)
    return;
  int64_t work = std::max<int64_t>(workPerItem, 1);
  if (n == 1 || n * work < kMinParallelWork || defaultThreadCount() == 1) {
    fn(0, n);
    return;
  }
  // Pieces of at least kMinParallelWork / 4 flops each.
  size_t grain = size_t(std::max<int64_t>(1, kMinParallelWork / 4 / work));
  parallelFor(
      0, size_t(n), [&](size_t begin, size_t end) { fn(int64_t(begin), int64_t(end)); },
      grain);
}

unsigned kernelThreads() { return defaultThreadCount(); }

} // namespace off::cpu
