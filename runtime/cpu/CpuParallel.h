// How the CPU kernels use threads: one call, over the process-wide pool of
// runtime/common/Parallel.h (whose size is the `--threads` setting).
//
// Every kernel in this folder partitions its work so that each output
// element is computed by one thread in a fixed order: results do not depend
// on how parallelRange cuts the range, hence not on the thread count. Where a
// kernel sums across items (a weight gradient over rows, a norm over a
// tensor), it sums fixed-size blocks whose bounds depend only on the shape,
// then combines the block results in block order.
#pragma once

#include <cstdint>
#include <functional>

namespace off::cpu {

/// Calls fn(begin, end) on disjoint pieces covering [0, n). `workPerItem` is
/// a rough count of floating-point operations per item: a range whose total
/// work is too small to pay for waking the pool runs on the calling thread.
/// A call from inside a running piece runs serially (no nested parallelism).
void parallelRange(int64_t n, int64_t workPerItem,
                   const std::function<void(int64_t begin, int64_t end)> &fn);

/// Threads of the pool the kernels run on (the calling thread included).
unsigned kernelThreads();

/// How many parallelRange calls so far were handed to the pool (for tests
/// that must know a kernel really split its work).
uint64_t parallelRangeSplits();

} // namespace off::cpu
