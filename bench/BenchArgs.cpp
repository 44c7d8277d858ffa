#include "bench/BenchArgs.h"

#include "runtime/cpu/CpuInfo.h"

#include <cstdio>

namespace off::bench {

int runBenchmark(off::cli::Command &cmd, const std::vector<std::string> &args,
                 const std::function<int()> &body) {
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  try {
    // Which machine and kernels the numbers come from (stderr: --json stays
    // one object on stdout).
    std::string machine = off::cpu::cpuBackendDescription();
    for (size_t pos = 0; (pos = machine.find('\n', pos)) != std::string::npos;)
      machine.replace(pos, 1, pos + 1 == machine.size() ? "" : "; ");
    std::fprintf(stderr, "%s: %s\n", cmd.path().c_str(), machine.c_str());
    return body();
  } catch (const UsageError &e) {
    return cmd.usageError(e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s: error: %s\n", cmd.path().c_str(), e.what());
    return 1;
  }
}

} // namespace off::bench
