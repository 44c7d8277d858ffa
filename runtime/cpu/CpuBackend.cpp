#include "runtime/cpu/CpuBackend.h"

#include "runtime/cpu/OpsCommon.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace off::cpu {

const kernels::KernelTable &cpuKernels() {
  static const kernels::KernelTable table = [] {
    kernels::KernelTable t("cpu");
    detail::registerGenericOps(t);
    detail::registerFusedOps(t);
    return t;
  }();
  return table;
}

namespace {
class CpuBackend final : public kernels::Backend {
public:
  const kernels::KernelTable &kernels() const override { return cpuKernels(); }
  void *allocate(size_t bytes) override {
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!p)
      throw std::bad_alloc();
    return p;
  }
  void release(void *pointer) override { std::free(pointer); }
  void copyToDevice(void *device, const void *host, size_t bytes) override {
    std::memcpy(device, host, bytes);
  }
  void copyToHost(void *host, const void *device, size_t bytes) override {
    std::memcpy(host, device, bytes);
  }
  void synchronize() override {}
};
} // namespace

kernels::Backend &cpuBackend() {
  static CpuBackend backend;
  return backend;
}

} // namespace off::cpu
