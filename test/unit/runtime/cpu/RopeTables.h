// Rope cos/sin tables [T, D] as Hugging Face's LlamaRotaryEmbedding builds
// them: frequency i = theta^(-2i/D) for i < D/2, repeated in both halves.
#pragma once

#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <cmath>

namespace off::test {

struct RopeTables {
  HostTensor cos, sin;
};

inline RopeTables ropeTables(int64_t T, int64_t D, double theta) {
  RopeTables t{HostTensor({T, D}, DType::F32), HostTensor({T, D}, DType::F32)};
  for (int64_t p = 0; p < T; ++p)
    for (int64_t d = 0; d < D; ++d) {
      double frequency = std::pow(theta, -2.0 * double(d % (D / 2)) / double(D));
      t.cos.f32()[p * D + d] = float(std::cos(double(p) * frequency));
      t.sin.f32()[p * D + d] = float(std::sin(double(p) * frequency));
    }
  return t;
}

} // namespace off::test
