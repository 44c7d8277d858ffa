#include "runtime/common/BuildInfo.h"

#include "generated/OffBuildInfo.h"

#if OFF_CUDA_ENABLED
#include "runtime/cuda/CudaDevices.h"
#endif

namespace off {

bool builtWithCuda() { return OFF_CUDA_ENABLED != 0; }

std::string buildInfoText(const std::string &tool) {
  std::string text = tool + " " OFF_VERSION "\n";
  text += "commit: " OFF_GIT_COMMIT "\n";
  text += "build type: " OFF_BUILD_TYPE "\n";
#if OFF_CUDA_ENABLED
  text += "CUDA: on (" + cudaDevicesSummary() + ")\n";
#else
  text += "CUDA: off\n";
#endif
  return text;
}

} // namespace off
