// Test-side state for AdamW: owned arrays for one tensor, random contents
// that include the awkward values (zeros, denormals, large, negative).
#pragma once

#include "runtime/optim/AdamW.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace off::optim::testing {

struct AdamWState {
  std::vector<float> param, expAvg, expAvgSq;
  std::vector<float> gradF32;
  std::vector<uint16_t> gradBf16;
  std::vector<float> outF32;
  std::vector<uint16_t> outBf16;

  AdamWState(size_t n, uint32_t seed) : param(n), expAvg(n), expAvgSq(n), gradF32(n),
                                        gradBf16(n), outF32(n), outBf16(n) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 19);
    for (size_t i = 0; i < n; ++i) {
      param[i] = normal(rng);
      expAvg[i] = 0.1f * normal(rng);
      expAvgSq[i] = 0.01f * std::abs(normal(rng));
      gradF32[i] = normal(rng);
      switch (pick(rng)) { // about one element in four is awkward
      case 0: gradF32[i] = 0.0f; break;
      case 1: expAvgSq[i] = 0.0f; expAvg[i] = 0.0f; break;
      case 2: gradF32[i] = 1e-40f; break;            // denormal
      case 3: param[i] = -3e38f; break;              // near the fp32 limit
      case 4: gradF32[i] = 1e4f * normal(rng); break;
      default: break;
      }
      uint32_t bits;
      std::memcpy(&bits, &gradF32[i], 4);
      gradBf16[i] = uint16_t(bits >> 16) ^ uint16_t(rng() & 1); // any bf16 pattern
    }
  }

  AdamWTensor tensor(GradDtype grad, OutDtype out) {
    AdamWTensor t;
    t.param = param.data();
    t.expAvg = expAvg.data();
    t.expAvgSq = expAvgSq.data();
    t.grad = grad == GradDtype::F32 ? static_cast<const void *>(gradF32.data())
                                    : static_cast<const void *>(gradBf16.data());
    t.gradDtype = grad;
    t.outDtype = out;
    t.paramOut = out == OutDtype::None  ? nullptr
                 : out == OutDtype::F32 ? static_cast<void *>(outF32.data())
                                        : static_cast<void *>(outBf16.data());
    t.count = param.size();
    t.name = "test.weight";
    return t;
  }

  bool operator==(const AdamWState &o) const {
    auto same = [](const auto &a, const auto &b) {
      return a.size() == b.size() &&
             std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
    };
    return same(param, o.param) && same(expAvg, o.expAvg) && same(expAvgSq, o.expAvgSq) &&
           same(outF32, o.outF32) && same(outBf16, o.outBf16);
  }
};

/// Index of the first float whose bits differ, or -1.
inline long firstDifference(const std::vector<float> &a, const std::vector<float> &b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], 4) != 0)
      return long(i);
  return -1;
}

} // namespace off::optim::testing
