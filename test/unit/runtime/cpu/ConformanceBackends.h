// The backends the conformance suite runs against. A new backend (CUDA)
// adds itself here; every *ConformanceTest then runs on it too.
#pragma once

#include "runtime/cpu/CpuBackend.h"
#include "runtime/cpu/KernelTable.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace off::test {

inline std::vector<kernels::Backend *> conformanceBackends() { return {&cpu::cpuBackend()}; }

inline std::string backendName(const ::testing::TestParamInfo<kernels::Backend *> &info) {
  return info.param->kernels().backend();
}

/// A test fixture running on each backend.
class Conformance : public ::testing::TestWithParam<kernels::Backend *> {
protected:
  kernels::Backend &backend() { return *GetParam(); }
};

#define OFF_CONFORMANCE_SUITE(Suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                                   \
                           ::testing::ValuesIn(::off::test::conformanceBackends()),          \
                           ::off::test::backendName)

} // namespace off::test
