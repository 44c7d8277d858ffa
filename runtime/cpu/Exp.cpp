#include "runtime/cpu/Exp.h"

#include "runtime/cpu/Dot.h"
#include "runtime/cpu/ExpConstants.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace off::cpu {

namespace {
float powerOfTwo(int k) { // k in [-126, 127]
  uint32_t bits = uint32_t(k + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
} // namespace

float expAffineScalar(float x, float a, float b) {
  using namespace detail::exp;
  float t = (a * x) - b;
  if (std::isnan(t))
    return t;
  if (t > kMax)
    return std::numeric_limits<float>::infinity();
  if (t < kMin)
    return 0.0f;
  float n = std::nearbyint(t * kLog2e);
  float r = std::fma(n, -kLn2Hi, t);
  r = std::fma(n, -kLn2Lo, r);
  float p = kP0;
  p = std::fma(p, r, kP1);
  p = std::fma(p, r, kP2);
  p = std::fma(p, r, kP3);
  p = std::fma(p, r, kP4);
  p = std::fma(p, r, kP5);
  float y = std::fma(p, r * r, r) + 1.0f;
  int k = int(n), k1 = k >> 1;
  return (y * powerOfTwo(k1)) * powerOfTwo(k - k1);
}

void expAffineArrayScalar(const float *x, float a, float b, float *y, int64_t N) {
  for (int64_t i = 0; i < N; ++i)
    y[i] = expAffineScalar(x[i], a, b);
}

void expAffine(const float *x, float a, float b, float *y, int64_t N) {
  if (cpuHasAvx2())
    expAffineArrayAvx2(x, a, b, y, N);
  else
    expAffineArrayScalar(x, a, b, y, N);
}

} // namespace off::cpu
