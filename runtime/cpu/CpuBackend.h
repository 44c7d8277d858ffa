// The CPU backend: every off op's kernel on host memory, fp32 (casts to and
// from bf16), threaded on the pool of runtime/common/Parallel.h.
#pragma once

#include "runtime/cpu/KernelTable.h"

namespace off::cpu {

/// The CPU kernels by op name (built once, on first use).
const kernels::KernelTable &cpuKernels();

/// The CPU backend for conformance tests: host allocations (64-byte aligned),
/// memcpy copies, nothing to synchronize.
kernels::Backend &cpuBackend();

} // namespace off::cpu
