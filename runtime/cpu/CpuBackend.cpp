#include "runtime/cpu/CpuBackend.h"

#include "runtime/backend/HostBackend.h"
#include "runtime/cpu/OpsCommon.h"

namespace off::cpu {

const backend::KernelTable &cpuKernels() {
  static const backend::KernelTable table = [] {
    backend::KernelTable t("cpu");
    detail::registerGenericOps(t);
    detail::registerFusedOps(t);
    return t;
  }();
  return table;
}

backend::Backend &cpuBackend() {
  static backend::HostBackend backend("cpu", cpuKernels());
  return backend;
}

} // namespace off::cpu
