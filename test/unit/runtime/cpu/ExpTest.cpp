// Exp.h: the AVX2 exp against its scalar reference, bit for bit (lengths not
// a multiple of 8, special values), and the definition's accuracy against
// double-precision exp; the sum and max lanes of Dot.h likewise.
#include "runtime/cpu/Dot.h"
#include "runtime/cpu/Exp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace off::cpu;

namespace {

std::vector<float> testInputs() {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 88.72f, 88.7228394f, 88.73f, 100.0f,
                          -87.3f, -87.4f, -100.0f, -103.27f, -103.3f, -200.0f, 1e-8f, -1e-8f,
                          0.34657359f, -0.34657359f, 0.5f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()};
  std::mt19937 rng(81);
  std::uniform_real_distribution<float> wide(-110.0f, 95.0f), narrow(-2.0f, 2.0f);
  for (int i = 0; i < 20000; ++i)
    x.push_back(i % 2 ? wide(rng) : narrow(rng));
  return x;
}

// Distance in units in the last place of the f32 result.
double ulps(float got, double exact) {
  if (exact == 0.0)
    return got == 0.0f ? 0.0 : 1e30;
  int exponent;
  std::frexp(exact, &exponent);
  double ulp = std::ldexp(1.0, std::max(exponent - 24, -149)); // denormals: fixed 2^-149
  return std::abs(double(got) - exact) / ulp;
}

TEST(Exp, Avx2EqualsScalarReferenceBitForBit) {
  if (!cpuHasAvx2())
    GTEST_SKIP() << "this CPU has no AVX2: only the scalar reference runs here";
  std::vector<float> x = testInputs();
  for (auto [a, b] : {std::pair{1.0f, 0.0f}, std::pair{-1.0f, 0.0f}, std::pair{1.0f, 3.25f},
                      std::pair{0.7f, -1.5f}})
    for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(9), size_t(23), x.size()}) {
      std::vector<float> s(n), v(n);
      expAffineArrayScalar(x.data(), a, b, s.data(), int64_t(n));
      expAffineArrayAvx2(x.data(), a, b, v.data(), int64_t(n));
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(std::memcmp(&s[i], &v[i], sizeof(float)), 0)
            << "x=" << x[i] << " a=" << a << " b=" << b << ": " << s[i] << " vs " << v[i];
    }
}

TEST(Exp, WithinTwoUlpOfExactAndSpecialValues) {
  double worst = 0.0;
  for (float x : testInputs()) {
    float y = expAffineScalar(x, 1.0f, 0.0f);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(y));
      continue;
    }
    double exact = std::exp(double(x));
    if (exact > double(std::numeric_limits<float>::max())) {
      EXPECT_EQ(y, std::numeric_limits<float>::infinity()) << x;
      continue;
    }
    if (x < -103.278929f) {
      EXPECT_EQ(y, 0.0f) << x;
      continue;
    }
    worst = std::max(worst, ulps(y, exact));
    EXPECT_LE(ulps(y, exact), 2.0) << "exp(" << x << ") = " << y << ", exact " << exact;
  }
  EXPECT_EQ(expAffineScalar(0.0f, 1.0f, 0.0f), 1.0f);
  EXPECT_EQ(expAffineScalar(5.0f, 1.0f, 5.0f), 1.0f); // exp(x - x)
  std::printf("worst exp error: %.2f ulp\n", worst);
}

TEST(SumLanes, Avx2EqualsScalarReferenceBitForBit) {
  if (!cpuHasAvx2())
    GTEST_SKIP() << "this CPU has no AVX2: only the scalar reference runs here";
  std::mt19937 rng(82);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(5000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = dist(rng) * (i % 5 == 0 ? 1e7f : 1.0f);
  for (int64_t n : {0, 1, 7, 8, 9, 17, 255, 4999})
    for (size_t offset : {size_t(0), size_t(1)}) {
      double s = sumLanesScalar(x.data() + offset, n), v = sumLanesAvx2(x.data() + offset, n);
      EXPECT_EQ(std::memcmp(&s, &v, sizeof s), 0) << "n=" << n;
    }
}

TEST(MaxLanes, Avx2EqualsScalarReference) {
  if (!cpuHasAvx2())
    GTEST_SKIP() << "this CPU has no AVX2: only the scalar reference runs here";
  std::mt19937 rng(83);
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  std::vector<float> x(3000);
  for (float &v : x)
    v = dist(rng);
  x[2999] = 1000.0f; // the max in the tail
  x[100] = -0.0f;
  for (int64_t n : {0, 1, 7, 8, 9, 17, 101, 2999, 3000}) {
    float s = maxLanesScalar(x.data(), n), v = maxLanesAvx2(x.data(), n);
    EXPECT_EQ(std::memcmp(&s, &v, sizeof s), 0) << "n=" << n;
    float exact = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i)
      exact = std::max(exact, x[size_t(i)]);
    EXPECT_EQ(s, exact) << "n=" << n;
  }
}

} // namespace
