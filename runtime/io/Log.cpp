#include "runtime/io/Log.h"

#include <cstdio>
#include <mutex>
#include <set>

namespace off::io {

void logOnce(const std::string &key, const std::string &message) {
  static std::mutex mutex;
  static std::set<std::string> seen;
  std::lock_guard lock(mutex);
  if (seen.insert(key).second)
    std::fprintf(stderr, "offrt io: %s\n", message.c_str());
}

} // namespace off::io
