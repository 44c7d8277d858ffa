// One sub-command's command line (`offrt train`, `offc compile`, `offrt bench
// adam`, ...), read with CLI11: options bound to variables, `--help` built
// from them, and usage errors in one form:
//
//   offrt train: error: --steps: needs a positive integer, got 'x' (see `offrt train --help`)
//
// exit code 2. Adding an option is one line:
//
//   off::cli::Command cmd("offrt train", "PLAN.bin --data TOKENS.bin [options]",
//                         "Trains with a train_step plan from `offc compile`...");
//   cmd.positional("PLAN.bin", o.planPath, "the plan");
//   cmd.group("Run");
//   cmd.option("--steps", o.steps, "N", "total optimizer steps", off::cli::positive);
//   cmd.flag("--quiet", o.quiet, "no progress lines");
//   if (std::optional<int> exit = cmd.parse(args)) return *exit;
//
// CLI11 stays inside CliCommand.cpp (it needs exceptions; offc is built
// without them), so this header can be included anywhere. Nothing here
// throws: a bad value is reported by parse().
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace off::cli {

/// The values a number option accepts: [min, max], or (min, max] with
/// `minExclusive`. For integer options positive means >= 1.
struct Bounds {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool minExclusive = false;
};
inline constexpr Bounds any{};
inline constexpr Bounds positive{0, std::numeric_limits<double>::infinity(), true};
inline constexpr Bounds nonNegative{0, std::numeric_limits<double>::infinity(), false};
constexpr Bounds atLeast(double min) { return {min, std::numeric_limits<double>::infinity(), false}; }
constexpr Bounds between(double min, double max) { return {min, max, false}; }

/// Parses one value: returns "" when `text` is good (and stores it), else the
/// problem, which the error line prints after "OPTION: ".
using ValueParser = std::function<std::string(const std::string &text)>;

class Command {
public:
  /// `path` is what errors start with ("offrt train"); `usage` follows it on
  /// the help's Usage line; `description` is the paragraph below it.
  Command(std::string path, std::string usage, std::string description);
  ~Command();
  Command(const Command &) = delete;
  Command &operator=(const Command &) = delete;

  /// Options added after this are listed under `name` in --help (default
  /// "Options").
  Command &group(const std::string &name);
  /// Text printed after the options in --help.
  Command &footer(const std::string &text);

  // Options. `names` is "--name" or "-o,--output"; `value` names the value in
  // --help ("FILE", "N"); `help` may span lines ("\n"). An option given twice
  // is refused, except a list, which collects every occurrence.
  Command &option(const std::string &names, std::string &slot, const std::string &value,
                  const std::string &help);
  Command &option(const std::string &names, std::vector<std::string> &slot,
                  const std::string &value, const std::string &help);
  Command &option(const std::string &names, int &slot, const std::string &value,
                  const std::string &help, Bounds bounds = any);
  Command &option(const std::string &names, unsigned &slot, const std::string &value,
                  const std::string &help, Bounds bounds = nonNegative);
  Command &option(const std::string &names, int64_t &slot, const std::string &value,
                  const std::string &help, Bounds bounds = any);
  Command &option(const std::string &names, uint64_t &slot, const std::string &value,
                  const std::string &help, Bounds bounds = nonNegative);
  Command &option(const std::string &names, double &slot, const std::string &value,
                  const std::string &help, Bounds bounds = any);
  /// Any other value: `parse` checks and stores it (each occurrence, when
  /// `repeatable`).
  Command &option(const std::string &names, const std::string &value, const std::string &help,
                  ValueParser parse, bool repeatable = false);
  /// A thread count: 1 up to the CPUs this process may run on (its CPU
  /// affinity, off::availableCpus()); more is refused saying the limit.
  Command &threads(const std::string &names, unsigned &slot, const std::string &help);
  /// A human size (24G, 512M, 4096), > 0.
  Command &size(const std::string &names, uint64_t &slot, const std::string &help);
  /// One of `choices`, stored as given; --help shows them as the value.
  Command &choice(const std::string &names, std::string &slot,
                  std::initializer_list<const char *> choices, const std::string &help);
  /// One of the names in `choices`, stored as its value:
  ///   cmd.choice("--pages", o.pages, {{"huge", Pages::Huge}, {"4k", Pages::Small}}, "...");
  template <typename T>
  Command &choice(const std::string &names, T &slot,
                  std::initializer_list<std::pair<const char *, std::type_identity_t<T>>> choices,
                  const std::string &help) {
    std::vector<std::string> allowed;
    std::vector<T> values;
    for (const auto &[name, value] : choices) {
      allowed.push_back(name);
      values.push_back(value);
    }
    return choiceAt(names, std::move(allowed),
                    [&slot, values](size_t index) { slot = values[index]; }, help);
  }
  Command &flag(const std::string &names, bool &slot, const std::string &help);

  /// A positional argument (at most one value); `name` is how help and errors
  /// call it ("PLAN.bin").
  Command &positional(const std::string &name, std::string &slot, const std::string &help);
  /// Positional arguments, any number.
  Command &positional(const std::string &name, std::vector<std::string> &slot,
                      const std::string &help);

  /// Reads `args` (the arguments after the command's name). Returns nullopt
  /// when the command should go on, else the exit code to return now: 0 after
  /// printing --help (on stdout), 2 after printing a usage error (stderr).
  std::optional<int> parse(const std::vector<std::string> &args);

  /// Whether the option (any of its names) was on the command line.
  bool given(const std::string &name) const;
  /// The option's value as it was written ("24G"); "" when not given.
  std::string value(const std::string &name) const;

  /// Prints "PATH: error: MESSAGE (see `PATH --help`)" on stderr; returns 2.
  int usageError(const std::string &message) const;
  /// The text --help prints.
  std::string help() const;
  const std::string &path() const;

private:
  /// `store` receives the index of the value in `allowed`.
  Command &choiceAt(const std::string &names, std::vector<std::string> allowed,
                    std::function<void(size_t)> store, const std::string &help);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace off::cli
