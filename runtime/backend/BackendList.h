// The backends this build of offrt has, in one list: what `offrt` picks from
// and what the backend conformance suite runs on. Adding a backend is its
// folder (runtime/<name>/, a Backend implementation) and one line in
// BackendList.cpp.
#pragma once

#include "runtime/backend/Backend.h"

#include <string>
#include <string_view>
#include <vector>

namespace off::backend {

/// Every backend built in, the CPU backend first.
std::vector<Backend *> availableBackends();

/// The backend called `name`; throws std::invalid_argument naming the ones
/// there are.
Backend &backendNamed(std::string_view name);

} // namespace off::backend
