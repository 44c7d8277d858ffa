#include "bench/BenchArgs.h"

#include <cstdio>

namespace off::bench {

int runBenchmark(off::cli::Command &cmd, const std::vector<std::string> &args,
                 const std::function<int()> &body) {
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  try {
    return body();
  } catch (const UsageError &e) {
    return cmd.usageError(e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s: error: %s\n", cmd.path().c_str(), e.what());
    return 1;
  }
}

} // namespace off::bench
