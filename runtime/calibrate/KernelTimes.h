// Seconds per call of a backend's own kernels at three sizes of a Llama
// layer: the "kernel_times" section of a device profile. The simulator
// prices each kernel of a plan by interpolating these curves in the kernel's
// work (runtime/common/KernelWork.h) instead of by the roofline, which
// leaves out what the roofline cannot see: per-call overhead, small shapes
// that fill neither the cores nor the vector units, transcendental work per
// element, strided access.
#pragma once

#include "runtime/backend/Backend.h"
#include "runtime/common/Json.h"

#include <functional>
#include <string>

namespace off::calibrate {

struct KernelTimesOptions {
  bool quick = false;       // the two smaller sizes only, shorter timing
  double minSeconds = 0.1;  // per kernel and size
  std::function<void(const std::string &)> progress;
  std::string source;       // "measured by ... on ..., DATE": the section's source
};

/// {"source": "...", "ops": {KEY: {"work": "flops"|"bytes", "points":
/// [[work, seconds], ...]}}}, points in increasing work. Kernels or dtypes
/// the backend does not take are left out (the simulator falls back to the
/// roofline for them).
Json measureKernelTimes(backend::Backend &b, const KernelTimesOptions &o);

} // namespace off::calibrate
