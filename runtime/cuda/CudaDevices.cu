#include "runtime/cuda/CudaDevices.h"

#include <cuda_runtime.h>

#include <cstdio>

namespace off {

std::string cudaDevicesSummary() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess)
    return std::string("no usable device: ") + cudaGetErrorString(err);
  std::string text = std::to_string(count) + " device(s)";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess)
      continue;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s %s (%.1f GiB, sm_%d%d)", i ? "," : ":",
                  prop.name, prop.totalGlobalMem / double(1ull << 30),
                  prop.major, prop.minor);
    text += buf;
  }
  return text;
}

} // namespace off
