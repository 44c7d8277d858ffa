// What this binary is: version, commit, build type, CUDA support.
#pragma once

#include <string>

namespace off {

/// One line per fact, as `--version` prints it, for the program `tool`.
std::string buildInfoText(const std::string &tool);

/// Whether this binary was built with the CUDA backend.
bool builtWithCuda();

} // namespace off
