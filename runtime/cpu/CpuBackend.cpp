#include "runtime/cpu/CpuBackend.h"

#include "runtime/backend/HostBackend.h"
#include "runtime/cpu/OpsCommon.h"
#include "runtime/optim/HostOptimizerKernels.h"

namespace off::cpu {

const backend::KernelTable &cpuKernels() {
  static const backend::KernelTable fp32 = [] {
    backend::KernelTable t("cpu");
    detail::registerGenericOps(t);
    detail::registerFusedOps(t);
    // The host optimizer's kernels (adam_step): on the CPU the compute
    // stream's memory is host memory too, so one table serves every stream.
    t.addAll(optim::hostOptimizerKernels());
    return t;
  }();
  static const backend::KernelTable table = [] {
    backend::KernelTable t("cpu");
    detail::addBf16Widening(t, fp32);
    return t;
  }();
  return table;
}

backend::Backend &cpuBackend() {
  static backend::HostBackend backend("cpu", cpuKernels());
  return backend;
}

} // namespace off::cpu
