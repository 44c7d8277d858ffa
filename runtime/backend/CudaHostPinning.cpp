// Pinned host memory through the CUDA runtime (compiled only when
// OFF_ENABLE_CUDA): cudaHostAlloc registers the pages with the driver, so
// cudaMemcpyAsync from them runs at full PCIe speed without a staging copy.
// Without a usable device (a CUDA build on a CPU-only machine) it falls back
// to mlock.
//
// Compiled on CUDA builds only. Tested so far only where nvcc is installed
// but no GPU is present (the mlock fallback runs); cudaHostAlloc itself has
// not yet run on a GPU machine.
#include "runtime/backend/HostMemory.h"

#include <cuda_runtime_api.h>

namespace off::backend {
namespace {

class CudaHostPinning final : public HostPinningApi {
public:
  const char *name() const override { return "cudaHostAlloc"; }
  void *allocatePinned(uint64_t size, std::string &why) override {
    void *pointer = nullptr;
    cudaError_t status = cudaHostAlloc(&pointer, size, cudaHostAllocPortable);
    if (status != cudaSuccess) {
      why = std::string("cudaHostAlloc failed: ") + cudaGetErrorString(status);
      cudaGetLastError(); // reset the last error so later calls do not see it
      return nullptr;
    }
    return pointer;
  }
  void releasePinned(void *pointer, uint64_t) override {
    cudaFreeHost(pointer);
  }
};

bool cudaDeviceUsable() {
  int count = 0;
  bool usable = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  cudaGetLastError();
  return usable;
}

} // namespace

HostPinningApi &defaultHostPinning() {
  static CudaHostPinning cuda;
  static bool useCuda = cudaDeviceUsable();
  return useCuda ? static_cast<HostPinningApi &>(cuda) : mlockPinning();
}

} // namespace off::backend
