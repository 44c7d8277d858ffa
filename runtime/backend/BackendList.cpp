#include "runtime/backend/BackendList.h"

#include "runtime/cpu/CpuBackend.h"
#ifdef OFF_BACKEND_LIST_HAVE_CUDA
#include "runtime/cuda/CudaBackend.h"
#endif

#include <stdexcept>

namespace off::backend {

std::vector<Backend *> availableBackends() {
  std::vector<Backend *> backends{&cpu::cpuBackend()};
#ifdef OFF_BACKEND_LIST_HAVE_CUDA
  // Only where a GPU is usable: a CUDA build on a machine without one lists
  // the CPU backend alone.
  if (Backend *cuda = cuda::cudaBackendIfUsable())
    backends.push_back(cuda);
#endif
  return backends;
}

Backend &backendNamed(std::string_view name) {
#ifdef OFF_BACKEND_LIST_HAVE_CUDA
  if (name == "cuda") {
    std::string why;
    if (!cuda::cudaUsable(&why))
      throw std::invalid_argument("the cuda backend is built in, but " + why);
  }
#endif
  std::string names;
  for (Backend *backend : availableBackends()) {
    if (backend->name() == name)
      return *backend;
    names += (names.empty() ? "" : ", ") + backend->name();
  }
  throw std::invalid_argument("no backend '" + std::string(name) + "' in this build (it has " +
                              names + ")");
}

} // namespace off::backend
