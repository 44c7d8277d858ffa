// The backends the conformance suite runs against: every backend of this
// build (runtime/backend/BackendList.h). A new backend adds itself there;
// every *ConformanceTest then runs on it too, through the backend interface.
#pragma once

#include "runtime/backend/BackendList.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace off::test {

inline std::vector<backend::Backend *> conformanceBackends() {
  return backend::availableBackends();
}

inline std::string backendName(const ::testing::TestParamInfo<backend::Backend *> &info) {
  return info.param->name();
}

/// A test fixture running on each backend.
class Conformance : public ::testing::TestWithParam<backend::Backend *> {
protected:
  backend::Backend &backend() { return *GetParam(); }
};

#define OFF_CONFORMANCE_SUITE(Suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                                   \
                           ::testing::ValuesIn(::off::test::conformanceBackends()),          \
                           ::off::test::backendName)

} // namespace off::test
