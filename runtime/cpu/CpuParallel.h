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

#include "runtime/common/FunctionRef.h"

#include <algorithm>
#include <cstdint>

namespace off::cpu {

/// Calls fn(begin, end) on disjoint pieces covering [0, n). `workPerItem` is
/// a rough count of floating-point operations per item: a range whose total
/// work is too small to pay for waking the pool runs on the calling thread.
/// A call from inside a running piece runs serially (no nested parallelism).
void parallelRange(int64_t n, int64_t workPerItem,
                   FunctionRef<void(int64_t begin, int64_t end)> fn);

/// Scratch slots: a kernel whose pieces each need scratch memory cuts its
/// range into at most this many pieces (one slot of the plan's workspace
/// each), so its workspace depends on the shapes only, never on the thread
/// count. More threads than slots leave the extra threads idle in it.
constexpr int64_t kScratchSlots = 32;

/// Slots parallelSlots uses for a range of n items (1 for n <= 1).
inline int64_t scratchSlots(int64_t n) { return std::clamp<int64_t>(n, 1, kScratchSlots); }

/// As parallelRange, but over scratchSlots(n) fixed pieces (staticChunk of
/// runtime/common/Parallel.h) and fn(begin, end, slot) gets the piece's
/// index: two calls running at once never share a slot. On one thread, or
/// with too little work, fn(0, n, 0) runs alone.
void parallelSlots(int64_t n, int64_t workPerItem,
                   FunctionRef<void(int64_t begin, int64_t end, int64_t slot)> fn);

/// Threads of the pool the kernels run on (the calling thread included).
unsigned kernelThreads();

/// How many parallelRange calls so far were handed to the pool (for tests
/// that must know a kernel really split its work).
uint64_t parallelRangeSplits();

} // namespace off::cpu
