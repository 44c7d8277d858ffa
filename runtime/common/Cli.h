// The sub-command front door shared by offc and offrt: `tool <command> ...`,
// `tool --help`, `tool --version`, and a clear error for anything else.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace off {

struct SubCommand {
  std::string name;
  std::string usage;   // e.g. "explain PLAN": --help of a command not built yet
                       // (a built command answers --help itself, cli::Command)
  std::string summary; // one line
  // Receives the arguments after the command name; returns the exit code.
  // Empty for a command that exists in the design but is not built yet.
  std::function<int(const std::vector<std::string> &)> run;
  std::string pendingIssue; // for an unbuilt command: the issue that adds it
};

struct Tool {
  std::string name;
  std::string description;
  std::vector<SubCommand> commands;
  /// More lines for --version (e.g. offrt's CPU and kernel ISAs); optional.
  std::function<std::string()> versionDetails = {};
};

/// Dispatches argv to a sub-command. Exit codes: the command's own, 0 for
/// --help/--version, 2 for usage errors and for commands not built yet.
int runTool(const Tool &tool, int argc, char **argv);

} // namespace off
