// The vector kernels against the scalar reference (bit for bit), the scalar
// reference against a hand-computed step, and bf16 conversions against
// hand-written bit patterns.
#include "runtime/optim/AdamWKernels.h"
#include "test/unit/runtime/optim/AdamWTestData.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>

using namespace off::optim;
using off::bf16ToFloat;
using off::floatToBf16;

// Readable parameter names in test output.
namespace off::optim {
void PrintTo(AdamIsa isa, std::ostream *os) { *os << adamIsaName(isa); }
void PrintTo(GradDtype d, std::ostream *os) { *os << (d == GradDtype::F32 ? "f32" : "bf16"); }
void PrintTo(OutDtype d, std::ostream *os) {
  *os << (d == OutDtype::None ? "none" : d == OutDtype::F32 ? "f32" : "bf16");
}
} // namespace off::optim
using off::optim::testing::AdamWState;
using off::optim::testing::firstDifference;

namespace {

const AdamIsa kAllIsas[] = {AdamIsa::Scalar, AdamIsa::Avx2, AdamIsa::Avx512};

// Sizes around both vector widths (8 and 16) and a few larger odd ones.
const size_t kSizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 100, 1000, 4097, 10007};

AdamWHyper torchDefaults() { return AdamWHyper{}; }
AdamWHyper largeLerpWeight() { // 1 - beta1 >= 0.5: torch's other lerp form
  AdamWHyper h;
  h.lr = 3e-2;
  h.beta1 = 0.3;
  h.beta2 = 0.95;
  h.eps = 1e-6;
  h.weightDecay = 0.1;
  return h;
}
AdamWHyper noWeightDecay() {
  AdamWHyper h;
  h.lr = 1e-2;
  h.weightDecay = 0.0;
  return h;
}

} // namespace

TEST(AdamWKernel, HandComputedSingleElement) {
  // p=1, g=0.5, m=0.25, v=0.0625, lr=0.1, betas (0.9, 0.999), eps=1e-8, wd=0.1, step 2:
  //   m1 = 0.25 + 0.1 * (0.5 - 0.25)                    = 0.275
  //   v1 = 0.999 * 0.0625 + 0.001 * 0.25                = 0.0626875
  //   den = sqrt(v1) / sqrt(1 - 0.999^2) + 1e-8         = 5.59994909145...
  //   p2 = 1 * (1 - 0.01) - (0.1 / (1 - 0.9^2)) * m1 / den = 0.964153900376310...
  // (computed with 40-digit decimals; fp32 must land within a few ulp).
  AdamWHyper h;
  h.lr = 0.1;
  h.weightDecay = 0.1;
  for (AdamIsa isa : kAllIsas) {
    if (!adamIsaSupported(isa))
      continue;
    float p = 1.0f, m = 0.25f, v = 0.0625f, g = 0.5f, out = 0.0f;
    AdamWTensor t{&p, &m, &v, &g, GradDtype::F32, &out, OutDtype::F32, 1, "one"};
    adamwStepRange(t, adamwStepScalars(h, 2), 0, 1, isa);
    EXPECT_NEAR(m, 0.275f, 0.275 * 3e-7) << adamIsaName(isa);
    EXPECT_NEAR(v, 0.0626875f, 0.0626875 * 3e-7) << adamIsaName(isa);
    EXPECT_NEAR(p, 0.964153900376310, 0.9641539 * 3e-7) << adamIsaName(isa);
    EXPECT_EQ(out, p);
  }
}

TEST(AdamWKernel, StepScalarsFollowTorchsDerivation) {
  AdamWHyper h; // lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-2
  AdamWStepScalars s = adamwStepScalars(h, 3);
  EXPECT_EQ(s.decay, float(1.0 - 1e-5));
  EXPECT_EQ(s.lerpWeight, float(0.1));
  EXPECT_TRUE(s.lerpWeightSmall);
  EXPECT_EQ(s.oneMinusBeta2, float(0.001));
  EXPECT_EQ(s.bias2Sqrt, float(std::sqrt(1.0 - 0.999 * 0.999 * 0.999)));
  EXPECT_EQ(s.negStepSize, float(-1e-3 / (1.0 - 0.9 * 0.9 * 0.9)));
  EXPECT_FALSE(adamwStepScalars(largeLerpWeight(), 1).lerpWeightSmall);
}

TEST(AdamWKernel, Bf16RoundsToNearestEven) {
  auto fromBits = [](uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  };
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(fromBits(0x3f808000)), 0x3f80); // tie, even stays
  EXPECT_EQ(floatToBf16(fromBits(0x3f818000)), 0x3f82); // tie, odd rounds up
  EXPECT_EQ(floatToBf16(fromBits(0x3f808001)), 0x3f81); // above the tie
  EXPECT_EQ(floatToBf16(fromBits(0x3f807fff)), 0x3f80); // below the tie
  EXPECT_EQ(floatToBf16(fromBits(0xbf818000)), 0xbf82); // negative tie
  EXPECT_EQ(floatToBf16(fromBits(0x7f7fffff)), 0x7f80); // max float -> inf
  EXPECT_EQ(floatToBf16(INFINITY), 0x7f80);
  EXPECT_EQ(floatToBf16(-INFINITY), 0xff80);
  EXPECT_EQ(floatToBf16(NAN), 0x7fc0);
  EXPECT_EQ(floatToBf16(fromBits(0x00008000)), 0x0000); // denormal tie to even
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
}

// Every vector ISA this CPU runs, every dtype pair, several hyper-parameter
// sets, three steps in a row: the same bits as the scalar reference.
class AdamWVectorVsScalar
    : public ::testing::TestWithParam<std::tuple<AdamIsa, GradDtype, OutDtype>> {};

TEST_P(AdamWVectorVsScalar, BitwiseEqualIncludingTails) {
  auto [isa, grad, out] = GetParam();
  if (!adamIsaSupported(isa))
    GTEST_SKIP() << adamIsaName(isa) << " is not supported by this CPU";
  for (const AdamWHyper &h : {torchDefaults(), largeLerpWeight(), noWeightDecay()}) {
    for (size_t n : kSizes) {
      AdamWState reference(n, uint32_t(n) * 7 + 1), vector = reference;
      for (int64_t step = 1; step <= 3; ++step) {
        AdamWStepScalars s = adamwStepScalars(h, step);
        adamwStepRange(reference.tensor(grad, out), s, 0, n, AdamIsa::Scalar);
        adamwStepRange(vector.tensor(grad, out), s, 0, n, isa);
      }
      ASSERT_TRUE(reference == vector)
          << adamIsaName(isa) << " n=" << n << " lr=" << h.lr << " first param diff at "
          << firstDifference(reference.param, vector.param);
    }
  }
}

TEST_P(AdamWVectorVsScalar, UnalignedSubRangeLeavesTheRestUntouched) {
  auto [isa, grad, out] = GetParam();
  if (!adamIsaSupported(isa))
    GTEST_SKIP() << adamIsaName(isa) << " is not supported by this CPU";
  const size_t n = 203, begin = 3, end = 190;
  AdamWState original(n, 99), reference = original, vector = original;
  AdamWStepScalars s = adamwStepScalars(torchDefaults(), 5);
  adamwStepRange(reference.tensor(grad, out), s, begin, end, AdamIsa::Scalar);
  adamwStepRange(vector.tensor(grad, out), s, begin, end, isa);
  ASSERT_TRUE(reference == vector);
  for (size_t i : {size_t(0), begin - 1, end, n - 1}) {
    EXPECT_EQ(vector.param[i], original.param[i]) << i;
    EXPECT_EQ(vector.expAvg[i], original.expAvg[i]) << i;
    EXPECT_EQ(vector.expAvgSq[i], original.expAvgSq[i]) << i;
  }
  EXPECT_NE(vector.param[begin], original.param[begin]);
}

std::string pathName(const ::testing::TestParamInfo<AdamWVectorVsScalar::ParamType> &info) {
  std::string name = adamIsaName(std::get<0>(info.param));
  name += std::get<1>(info.param) == GradDtype::F32 ? "_gradF32" : "_gradBf16";
  OutDtype out = std::get<2>(info.param);
  name += out == OutDtype::None ? "_noOut" : out == OutDtype::F32 ? "_outF32" : "_outBf16";
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    AllPaths, AdamWVectorVsScalar,
    ::testing::Combine(::testing::Values(AdamIsa::Avx2, AdamIsa::Avx512),
                       ::testing::Values(GradDtype::F32, GradDtype::BF16),
                       ::testing::Values(OutDtype::None, OutDtype::F32, OutDtype::BF16)),
    pathName);

TEST(AdamWKernel, Bf16GradIsTheWidenedGradAndBf16OutIsTheRoundedParam) {
  const size_t n = 1001;
  for (AdamIsa isa : kAllIsas) {
    if (!adamIsaSupported(isa))
      continue;
    AdamWState viaBf16(n, 5), viaF32 = viaBf16;
    for (size_t i = 0; i < n; ++i)
      viaF32.gradF32[i] = bf16ToFloat(viaBf16.gradBf16[i]);
    AdamWStepScalars s = adamwStepScalars(torchDefaults(), 1);
    adamwStepRange(viaBf16.tensor(GradDtype::BF16, OutDtype::BF16), s, 0, n, isa);
    adamwStepRange(viaF32.tensor(GradDtype::F32, OutDtype::F32), s, 0, n, isa);
    EXPECT_EQ(firstDifference(viaBf16.param, viaF32.param), -1) << adamIsaName(isa);
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(viaBf16.outBf16[i], floatToBf16(viaF32.outF32[i])) << i;
  }
}
