// The engine's only output: one line on stderr per distinct reason (why it
// fell back to the thread pool, why a directory has no O_DIRECT, ...), so a
// long run does not repeat itself.
#pragma once

#include <string>

namespace off::io {

/// Prints "offrt io: <message>" on stderr the first time `key` is seen.
void logOnce(const std::string &key, const std::string &message);

} // namespace off::io
