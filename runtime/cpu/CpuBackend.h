// The CPU backend: every off op's kernel on host memory, fp32 (casts to and
// from bf16), threaded on the pool of runtime/common/Parallel.h; memory,
// streams and events of backend::HostBackend (host memory, work done on the
// calling thread, the device tier as host memory with the device's cap).
#pragma once

#include "runtime/backend/Backend.h"

namespace off::cpu {

/// The CPU kernels by op name (built once, on first use), runtime/optim's
/// host optimizer kernels (adam_step) included.
const backend::KernelTable &cpuKernels();

/// The CPU backend (one per process).
backend::Backend &cpuBackend();

} // namespace off::cpu
