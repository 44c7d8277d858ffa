// What every `offrt bench <name>` shares: its command line is an
// off::cli::Command (runtime/common/CliCommand.h: options bound to variables,
// --help, usage errors in one form), and it runs with the same error
// reporting: a usage error exits 2, a failure while running exits 1, both as
// "offrt bench <name>: error: problem".
//
//   Options o;
//   off::cli::Command cmd("offrt bench adam", "[options]", "CPU AdamW step: ...");
//   cmd.size("--params", o.params, "parameters (default 256M)");
//   cmd.option("--threads", o.threads, "N", "threads (default: all cores)");
//   cmd.flag("--json", o.json, "one JSON object on stdout");
//   return off::bench::runBenchmark(cmd, args, [&] { ...; return 0; });
#pragma once

#include "runtime/common/CliCommand.h"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::bench {

/// Bad options found after parsing (e.g. two that do not fit together):
/// runBenchmark reports it like a parse error and exits 2 (not 1).
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// Parses `args` with `cmd` (exit 0 after --help, 2 on a usage error), then
/// runs `body`, turning a UsageError into exit 2 and any other exception into
/// exit 1.
int runBenchmark(off::cli::Command &cmd, const std::vector<std::string> &args,
                 const std::function<int()> &body);

} // namespace off::bench
