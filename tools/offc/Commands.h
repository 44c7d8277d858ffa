// One function per offc sub-command, each in its own <Name>Command.cpp.
#pragma once

#include <string>
#include <vector>

namespace off::offc {

int runImport(const std::vector<std::string> &args);
/// The usage and options of `offc import`, for `offc import --help`.
std::string importUsage();

int runCompile(const std::vector<std::string> &args);
/// The usage and options of `offc compile`.
std::string compileUsage();

} // namespace off::offc
