#include "bench/BenchRegistry.h"

#include <cstdio>

namespace off::bench {

std::vector<Benchmark> &registry() {
  static std::vector<Benchmark> benchmarks;
  return benchmarks;
}

Registration::Registration(Benchmark benchmark) {
  registry().push_back(std::move(benchmark));
}

int runBench(const std::vector<std::string> &args) {
  auto listAll = [](FILE *out) {
    std::fprintf(out, "Usage: offrt bench <name> [options]\n\nBenchmarks against a reference "
                      "measured in the same run.\n\nBenchmarks:\n");
    for (const Benchmark &b : registry())
      std::fprintf(out, "  %-22s%s\n", b.name.c_str(), b.summary.c_str());
    if (registry().empty())
      std::fprintf(out, "  (none built yet)\n");
    std::fprintf(out, "\n`offrt bench <name> --help` lists a benchmark's options.\n");
  };
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    listAll(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  for (const Benchmark &b : registry())
    if (b.name == args[0])
      return b.run(std::vector<std::string>(args.begin() + 1, args.end()));
  std::fprintf(stderr, "offrt bench: error: unknown benchmark '%s' (see `offrt bench --help`)\n",
               args[0].c_str());
  return 2;
}

} // namespace off::bench
