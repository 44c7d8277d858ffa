// Philox against the Random123 known-answer vectors, the normal stream
// against the normal distribution, and HF-style init: values, kinds,
// reproducibility and independence from order, slicing and threads.
#include "runtime/model/WeightInit.h"

#include "runtime/common/Parallel.h"
#include "runtime/model/Random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace off::model {
namespace {

// From Random123's tests/kat_vectors (the three "philox4x32 10" lines):
// counter[4] key[2] -> result[4].
TEST(ModelPhilox, MatchesKnownAnswerVectors) {
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                       {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                       {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

double normalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// One million draws: moments within 5 standard errors, and the
// Kolmogorov-Smirnov distance to the normal CDF below its 1% critical value
// (1.63 / sqrt(n)).
TEST(ModelPhilox, NormalStreamHasTheNormalDistribution) {
  const size_t n = 1000000;
  std::vector<float> z(n);
  fillNormal(z.data(), n, 1.0, /*seed=*/2024, /*stream=*/77);
  double sum = 0, sum2 = 0, sum4 = 0;
  for (float v : z) {
    sum += v;
    sum2 += double(v) * v;
    sum4 += double(v) * v * v * v;
  }
  double mean = sum / n, var = sum2 / n - mean * mean, fourth = sum4 / n;
  EXPECT_LT(std::abs(mean), 5 / std::sqrt(double(n)));
  EXPECT_LT(std::abs(var - 1), 5 * std::sqrt(2.0 / n));
  EXPECT_LT(std::abs(fourth - 3), 5 * std::sqrt(96.0 / n));
  std::sort(z.begin(), z.end());
  double ks = 0;
  for (size_t i = 0; i < n; ++i) {
    double cdf = normalCdf(z[i]);
    ks = std::max({ks, std::abs(cdf - double(i) / n), std::abs(cdf - double(i + 1) / n)});
  }
  EXPECT_LT(ks, 1.63 / std::sqrt(double(n)));
}

TEST(ModelWeightInit, KindsAndStatistics) {
  std::vector<float> proj(512 * 1024), norm(64, -3.f), bias(8, 5.f);
  initWeights({{"model.layers.0.mlp.up_proj.weight", {512, 1024}, InitKind::Normal, proj.data()},
               {"model.norm.weight", {64}, InitKind::Ones, norm.data()},
               {"b.bias", {8}, InitKind::Zeros, bias.data()}},
              /*seed=*/1, /*stddev=*/0.02);
  double sum = 0, sum2 = 0;
  for (float v : proj) {
    sum += v;
    sum2 += double(v) * v;
  }
  double n = double(proj.size()), mean = sum / n, stddev = std::sqrt(sum2 / n - mean * mean);
  EXPECT_LT(std::abs(mean), 5 * 0.02 / std::sqrt(n));
  EXPECT_LT(std::abs(stddev - 0.02), 5 * 0.02 / std::sqrt(2 * n));
  EXPECT_TRUE(std::all_of(norm.begin(), norm.end(), [](float v) { return v == 1.f; }));
  EXPECT_TRUE(std::all_of(bias.begin(), bias.end(), [](float v) { return v == 0.f; }));
}

std::vector<float> initOne(const std::string &name, size_t n, uint64_t seed) {
  std::vector<float> values(n);
  initWeights({{name, {int64_t(n)}, InitKind::Normal, values.data()}}, seed, 0.02);
  return values;
}

TEST(ModelWeightInit, ReproducibleAndIndependentOfOrderSlicingAndThreads) {
  const size_t n = 100003; // odd, and past the parallel threshold
  std::vector<float> a = initOne("a.weight", n, 5);
  EXPECT_EQ(a, initOne("a.weight", n, 5));
  EXPECT_NE(a, initOne("a.weight", n, 6));
  EXPECT_NE(a, initOne("b.weight", n, 5));

  // The other order, together with another tensor.
  std::vector<float> b(n), a2(n);
  initWeights({{"b.weight", {int64_t(n)}, InitKind::Normal, b.data()},
               {"a.weight", {int64_t(n)}, InitKind::Normal, a2.data()}},
              5, 0.02);
  EXPECT_EQ(a, a2);

  // Slices (as ranks of a sharded tensor fill them), odd boundaries included.
  std::vector<float> sliced(n);
  const uint64_t cuts[] = {0, 7, 50000, 50001, n};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i)
    initWeights({{"a.weight", {int64_t(n)}, InitKind::Normal, sliced.data() + cuts[i],
                  cuts[i], cuts[i + 1] - cuts[i]}},
                5, 0.02);
  EXPECT_EQ(a, sliced);

  unsigned threads = off::defaultThreadCount();
  off::setDefaultThreadCount(1);
  std::vector<float> oneThread = initOne("a.weight", n, 5);
  off::setDefaultThreadCount(3);
  std::vector<float> threeThreads = initOne("a.weight", n, 5);
  off::setDefaultThreadCount(threads);
  EXPECT_EQ(a, oneThread);
  EXPECT_EQ(a, threeThreads);

  // Streams of different names are uncorrelated.
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < n; ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  EXPECT_LT(std::abs(dot / std::sqrt(na * nb)), 5 / std::sqrt(double(n)));
}

TEST(ModelWeightInit, RejectsSlicesOutsideTheTensor) {
  std::vector<float> buffer(10);
  EXPECT_THROW(initWeights({{"w", {10}, InitKind::Normal, buffer.data(), 5, 6}}, 1, 0.02),
               std::invalid_argument);
  EXPECT_THROW(initWeights({{"w", {10}, InitKind::Normal, nullptr}}, 1, 0.02),
               std::invalid_argument);
}

TEST(ModelRngState, SequentialDrawsFollowTheCounter) {
  RngState rng{9, 3, 0};
  double first = rng.nextNormal(), second = rng.nextNormal();
  EXPECT_EQ(first, philoxNormal(9, 3, 0));
  EXPECT_EQ(second, philoxNormal(9, 3, 1));
  EXPECT_EQ(rng.offset, 2u);
  RngState resumed{9, 3, 2}; // a resumed run continues the same sequence
  EXPECT_EQ(resumed.nextNormal(), philoxNormal(9, 3, 2));
}

} // namespace
} // namespace off::model
