// Which CUDA devices this process can use (callable from plain C++).
#pragma once

#include <string>

namespace off {

/// "N device(s): <name> (<mem> GiB, sm_XY), ..." or why none can be used
/// (no driver, no device), as CUDA reports it.
std::string cudaDevicesSummary();

} // namespace off
