// What every `offrt bench <name>` shares: reading its options (one flag at a
// time, values checked with a message naming the flag) and running it with
// the same error reporting (a usage error exits 2, a failure while running
// exits 1, both as "offrt bench <name>: problem").
//
//   off::bench::ArgReader r(args);
//   while (r.next()) {
//     if (r.is("--params")) o.params = r.size();
//     else if (r.is("--threads")) o.threads = unsigned(r.integer(0));
//     else if (r.is("--json")) o.json = true;
//     else r.unknown();
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::bench {

/// Bad options: runBenchmark reports it and exits 2 (not 1).
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class ArgReader {
public:
  explicit ArgReader(const std::vector<std::string> &args) : args_(args) {}

  /// Moves to the next flag; false when all were read.
  bool next();
  /// Whether the current flag is `flag`.
  bool is(const char *flag) const { return args_[at_] == flag; }
  const std::string &flag() const { return args_[at_]; }

  /// The current flag's value (the next argument), as text or checked:
  std::string text();
  uint64_t size();              // human size (256M, 4G); > 0
  int64_t integer(int64_t min, int64_t max = INT64_MAX); // a whole number in [min, max]
  double number(double min);    // finite, >= min
  /// One of `choices`, returned as given.
  std::string choice(std::initializer_list<const char *> choices);

  [[noreturn]] void unknown() const;
  [[noreturn]] void fail(const std::string &problem) const; // "FLAG: problem"

private:
  const std::vector<std::string> &args_;
  size_t at_ = 0;
  size_t nextAt_ = 0;
};

/// Runs `body`, turning a UsageError into exit 2 and any other exception into
/// exit 1, each printed as "offrt bench <name>: what".
int runBenchmark(const char *name, const std::function<int()> &body);

} // namespace off::bench
