// A deliberately broken "parser" for the test that the replay driver itself
// catches a crash (fuzz_replay_catches_crash): it aborts on any input shorter
// than 4 bytes, which the truncations of the mutator soon produce, and
// rejects everything else. If the driver ever stopped reporting crashes,
// that test would fail rather than every fuzz test passing silently.
#include "fuzz/FuzzTarget.h"

#include <cstdlib>

namespace off::fuzz {

const char *const kTargetName = "selftest";

Outcome runFuzzInput(const uint8_t *, size_t size) {
  if (size < 4)
    std::abort();
  return Outcome::Rejected;
}

} // namespace off::fuzz
