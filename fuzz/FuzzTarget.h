// The contract between a fuzz target (fuzz/Fuzz<Name>.cpp), libFuzzer and
// the deterministic replay driver (FuzzReplay.cpp) that ctest runs.
//
// A target feeds one input to one parser of user-supplied files and checks
// the house rule "bad input never crashes" as a property: the input is
// either accepted (and then what the parser promises about it is re-checked
// independently) or rejected with the parser's own error type and a message
// that starts with the file's name. Anything else (another exception type, a
// message that names no file, a broken promise) is a violation: the target
// prints it and aborts, which libFuzzer and the replay driver report as a
// crash together with the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>

namespace off::fuzz {

enum class Outcome { Accepted, Rejected };

/// Defined by each Fuzz<Name>.cpp (its LLVMFuzzerTestOneInput calls it);
/// the replay driver uses the outcome to check ok-* / bad-* seeds.
Outcome runFuzzInput(const uint8_t *data, size_t size);

/// The target's name, as in fuzz_<name> and fuzz/corpus/<name>/.
extern const char *const kTargetName;

/// The name every target gives its input in place of a path: error messages
/// must start with "<kInputName>: ".
inline constexpr const char *kInputName = "fuzz-input";

/// Prints "fuzz property violated: <what>" to stderr and aborts.
[[noreturn]] void violation(const std::string &what);

/// Violation unless `message` starts with "<kInputName>: " and says more.
void requireMessageNamesInput(const std::string &message);

/// Runs `parse`; returns its result, or nullopt when it threw `Error` with a
/// message naming the input. Any other exception is a violation.
template <class Error, class Parse>
auto parseOrReject(Parse &&parse) -> std::optional<decltype(parse())> {
  try {
    return parse();
  } catch (const Error &error) {
    requireMessageNamesInput(error.what());
    return std::nullopt;
  } catch (const std::exception &error) {
    violation(std::string("escaped ") + typeid(error).name() + " (not " +
              typeid(Error).name() + "): " + error.what());
  } catch (...) {
    violation("escaped an exception that is not a std::exception");
  }
}

} // namespace off::fuzz
