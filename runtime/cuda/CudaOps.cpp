#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/CudaOpsCommon.h"

namespace off::cuda {

const backend::KernelTable &cudaKernels() {
  static const backend::KernelTable table = [] {
    backend::KernelTable t("cuda");
    const backend::KernelTable &cpu = cpu::cpuKernels();
    detail::registerGenericOps(t, cpu);
    detail::registerFusedOps(t, cpu);
    return t;
  }();
  return table;
}

} // namespace off::cuda
