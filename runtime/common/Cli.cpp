#include "runtime/common/Cli.h"

#include "runtime/common/BuildInfo.h"

#include <cstdio>

namespace off {
namespace {

void printHelp(const Tool &tool, FILE *out) {
  std::fprintf(out, "%s: %s\n\nUsage: %s <command> [options]\n\nCommands:\n",
               tool.name.c_str(), tool.description.c_str(), tool.name.c_str());
  for (const SubCommand &cmd : tool.commands)
    std::fprintf(out, "  %-10s %s%s\n", cmd.name.c_str(), cmd.summary.c_str(),
                 cmd.run ? "" : " (not built yet)");
  std::fprintf(out,
               "\nOptions:\n  --help     this text; `%s <command> --help` "
               "for one command\n  --version  version, commit, build type, "
               "CUDA support\n",
               tool.name.c_str());
}

} // namespace

int runTool(const Tool &tool, int argc, char **argv) {
  if (argc < 2) {
    printHelp(tool, stderr);
    return 2;
  }
  std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    printHelp(tool, stdout);
    return 0;
  }
  if (first == "--version") {
    std::fputs(buildInfoText(tool.name).c_str(), stdout);
    return 0;
  }
  for (const SubCommand &cmd : tool.commands) {
    if (cmd.name != first)
      continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    if (!cmd.run) {
      std::fprintf(stderr,
                   "%s %s: not implemented yet (it arrives with issue %s); "
                   "nothing was done\n",
                   tool.name.c_str(), cmd.name.c_str(), cmd.pendingIssue.c_str());
      return 2;
    }
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::printf("Usage: %s %s\n\n%s\n", tool.name.c_str(), cmd.usage.c_str(),
                  cmd.summary.c_str());
      return 0;
    }
    return cmd.run(args);
  }
  std::fprintf(stderr, "%s: unknown command '%s' (see %s --help)\n",
               tool.name.c_str(), first.c_str(), tool.name.c_str());
  return 2;
}

} // namespace off
