#include "fuzz/FuzzTarget.h"

#include <cstdio>
#include <cstdlib>

namespace off::fuzz {

void violation(const std::string &what) {
  std::fprintf(stderr, "fuzz property violated (%s): %s\n", kTargetName, what.c_str());
  std::fflush(stderr);
  std::abort();
}

void requireMessageNamesInput(const std::string &message) {
  const std::string prefix = std::string(kInputName) + ": ";
  if (message.size() <= prefix.size() || message.compare(0, prefix.size(), prefix) != 0)
    violation("error message does not start with \"" + prefix + "\": " + message);
}

} // namespace off::fuzz
