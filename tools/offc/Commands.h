// One function per offc sub-command, each in its own <Name>Command.cpp; each
// reads its command line with off::cli::Command (runtime/common/CliCommand.h).
#pragma once

#include <string>
#include <vector>

namespace off::offc {

int runImport(const std::vector<std::string> &args);
int runCompile(const std::vector<std::string> &args);
int runSimulate(const std::vector<std::string> &args);
int runExplain(const std::vector<std::string> &args);

} // namespace off::offc
