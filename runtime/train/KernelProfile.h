// Time per kernel op over the steps of a run (`offrt train --profile`):
// PlanProgram::setProfile adds each kernel instruction's wall time here,
// by op name, from every stream's thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace off::train {

class KernelProfile {
public:
  struct Entry {
    double seconds = 0;
    uint64_t calls = 0;
  };

  void add(const std::string &op, double seconds) {
    std::lock_guard lock(mutex_);
    Entry &entry = entries_[op];
    entry.seconds += seconds;
    ++entry.calls;
  }
  std::map<std::string, Entry> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

private:
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

} // namespace off::train
