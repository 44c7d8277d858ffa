// `offrt bench <name>`: each benchmark registers itself from its own file in
// bench/ (compiled into offrt), so adding one touches no other file. Its
// options and --help come from an off::cli::Command (bench/BenchArgs.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace off::bench {

struct Benchmark {
  std::string name;
  std::string summary; // one line, for `offrt bench --help`
  std::function<int(const std::vector<std::string> &)> run; // exit code
};

/// All registered benchmarks, in registration order.
std::vector<Benchmark> &registry();

/// Registers at static-initialisation time:
///   static off::bench::Registration reg{{"adam", "CPU AdamW step ...", fn}};
struct Registration {
  explicit Registration(Benchmark benchmark);
};

/// `offrt bench ...`: dispatches to a registered benchmark.
int runBench(const std::vector<std::string> &args);

} // namespace off::bench
