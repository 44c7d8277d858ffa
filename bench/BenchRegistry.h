// `offrt bench <name>`: each benchmark registers itself from its own file in
// bench/ (compiled into offrt), so adding one touches no other file.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace off::bench {

struct Benchmark {
  std::string name;
  std::string usage;
  std::string summary;
  std::function<int(const std::vector<std::string> &)> run; // exit code
};

/// All registered benchmarks, in registration order.
std::vector<Benchmark> &registry();

/// Registers at static-initialisation time:
///   static off::bench::Registration reg{{"adam", "adam --params N", "...", fn}};
struct Registration {
  explicit Registration(Benchmark benchmark);
};

/// `offrt bench ...`: dispatches to a registered benchmark.
int runBench(const std::vector<std::string> &args);

} // namespace off::bench
