#include "runtime/backend/BackendList.h"

#include "runtime/cpu/CpuBackend.h"

#include <stdexcept>

namespace off::backend {

std::vector<Backend *> availableBackends() {
  return {
      &cpu::cpuBackend(),
  };
}

Backend &backendNamed(std::string_view name) {
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
