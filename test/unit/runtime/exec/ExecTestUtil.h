// Small builders shared by the executor tests.
#pragma once

#include "runtime/backend/HostBackend.h"
#include "runtime/exec/Executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace off::exec::testing {

using backend::HostMemory;
using backend::HostMemoryOptions;
using backend::PinningError;

/// The executor tests' backend: host memory, work done at once, no kernels
/// of its own (the tests' kernels are host functions).
inline backend::Backend &testBackend() {
  static const backend::KernelTable none("test");
  static backend::HostBackend instance("test", none);
  return instance;
}

inline Stream stream(const std::string &name, StreamKind kind,
                     std::vector<Instruction> instructions = {}) {
  return Stream{{name, kind}, std::move(instructions)};
}

/// A kernel with no arguments that runs `fn`.
inline KernelInstr action(const std::string &name, std::function<void()> fn) {
  return KernelInstr{name, {}, [fn](const KernelCall &) { fn(); }};
}

inline void sleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

inline std::vector<float> readFloats(const Executor &executor,
                                     const Slice &slice) {
  std::vector<float> values(slice.size / 4);
  std::memcpy(values.data(), executor.pointer(slice), slice.size);
  return values;
}

inline void writeFloats(Executor &executor, const Slice &slice,
                        const std::vector<float> &values) {
  ASSERT_EQ(values.size() * 4, slice.size);
  std::memcpy(executor.pointer(slice), values.data(), slice.size);
}

/// Runs and returns the ExecError's message ("" when the run succeeded).
inline std::string runError(Executor &executor) {
  try {
    executor.run();
  } catch (const ExecError &e) {
    return e.what();
  }
  return "";
}

} // namespace off::exec::testing
