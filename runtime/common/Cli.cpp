#include "runtime/common/Cli.h"

#include "runtime/common/BuildInfo.h"

#include <cstdio>

namespace off {
namespace {

void printHelp(const Tool &tool, FILE *out) {
  std::fprintf(out, "Usage: %s <command> [options]\n\n%s\n\nCommands:\n", tool.name.c_str(),
               tool.description.c_str());
  for (const SubCommand &cmd : tool.commands)
    std::fprintf(out, "  %-22s%s%s\n", cmd.name.c_str(), cmd.summary.c_str(),
                 cmd.run ? "" : " (not built yet)");
  std::fprintf(out,
               "\nOptions:\n  -h, --help            this text; `%s <command> --help` for one "
               "command\n  --version             version, commit, build type, CUDA support\n",
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
    if (tool.versionDetails)
      std::fputs(tool.versionDetails().c_str(), stdout);
    return 0;
  }
  for (const SubCommand &cmd : tool.commands) {
    if (cmd.name != first)
      continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    if (!cmd.run && !args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::printf("Usage: %s %s\n\n%s (not built yet: it arrives with issue %s)\n",
                  tool.name.c_str(), cmd.usage.c_str(), cmd.summary.c_str(),
                  cmd.pendingIssue.c_str());
      return 0;
    }
    if (!cmd.run) {
      std::fprintf(stderr,
                   "%s %s: not implemented yet (it arrives with issue %s); "
                   "nothing was done\n",
                   tool.name.c_str(), cmd.name.c_str(), cmd.pendingIssue.c_str());
      return 2;
    }
    return cmd.run(args); // the command answers its own --help
  }
  std::fprintf(stderr, "%s: error: unknown command '%s' (see `%s --help`)\n",
               tool.name.c_str(), first.c_str(), tool.name.c_str());
  return 2;
}

} // namespace off
