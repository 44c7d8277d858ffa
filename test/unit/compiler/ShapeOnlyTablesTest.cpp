// What the ONNX importer takes as a shape-only table or mask by its values
// (dialects/off/Transforms/AttentionMask.h): RoPE tables computed as
// transformers computes them (f32 angles), causal masks of -inf and of the
// float minimum are recognised; weights, zero and one tensors, tables with a
// wrong column or unequal halves are not.

#include "dialects/off/Transforms/AttentionMask.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace mlir::off;

namespace {

/// [T, D] cos or sin table as transformers builds it: inv_freq in f32,
/// angles t * inv_freq in f32, cos/sin in f32, each frequency in both halves.
std::vector<double> ropeTable(int64_t t, int64_t d, double theta, bool cosine) {
  std::vector<double> table(t * d);
  for (int64_t row = 0; row < t; ++row)
    for (int64_t j = 0; j < d / 2; ++j) {
      float inv = 1.0f / std::pow(static_cast<float>(theta), static_cast<float>(2 * j) / d);
      float angle = static_cast<float>(row) * inv;
      float v = cosine ? std::cos(angle) : std::sin(angle);
      table[row * d + j] = table[row * d + j + d / 2] = v;
    }
  return table;
}

bool rotary(const std::vector<double> &values, std::vector<int64_t> shape) {
  return isRotaryTableValues(shape, [&](int64_t i) { return values[i]; });
}

bool mask(const std::vector<double> &values, std::vector<int64_t> shape) {
  return isAdditiveMaskValues(shape, [&](int64_t i) { return values[i]; });
}

TEST(ShapeOnlyTables, RopeTablesAsTransformersComputesThem) {
  EXPECT_TRUE(rotary(ropeTable(16, 16, 1e4, true), {16, 16}));
  EXPECT_TRUE(rotary(ropeTable(16, 16, 1e4, false), {1, 1, 16, 16}));
  // Long positions: f32 angle rounding grows with t (Llama 3 theta).
  EXPECT_TRUE(rotary(ropeTable(2048, 128, 5e5, true), {2048, 128}));
  EXPECT_TRUE(rotary(ropeTable(2048, 128, 5e5, false), {2048, 128}));
}

TEST(ShapeOnlyTables, RopeTableRepeatedPerBatchRow) {
  std::vector<double> one = ropeTable(8, 8, 1e4, true), two = one;
  two.insert(two.end(), one.begin(), one.end());
  EXPECT_TRUE(rotary(two, {2, 1, 8, 8}));
  two[64 + 9] += 0.01; // the second copy differs
  EXPECT_FALSE(rotary(two, {2, 1, 8, 8}));
}

TEST(ShapeOnlyTables, NearMissesOfRopeTables) {
  std::vector<double> table = ropeTable(8, 8, 1e4, true);
  std::vector<double> halves = table;
  halves[3 * 8 + 1] = halves[3 * 8 + 1] * 0.5; // halves differ in one row
  EXPECT_FALSE(rotary(halves, {8, 8}));
  std::vector<double> bent = table;
  for (int64_t row = 4; row < 8; ++row) // column 2 stops following cos(t f)
    bent[row * 8 + 2] = bent[row * 8 + 6] = 0.3;
  EXPECT_FALSE(rotary(bent, {8, 8}));
  EXPECT_FALSE(rotary(std::vector<double>(64, 1.0), {8, 8})); // all ones
  EXPECT_FALSE(rotary(std::vector<double>(64, 0.0), {8, 8})); // all zeros
  EXPECT_FALSE(rotary(table, {64}));                         // rank 1
  EXPECT_FALSE(rotary(ropeTable(1, 8, 1e4, true), {1, 8}));  // one position
}

TEST(ShapeOnlyTables, WeightsAreNotTables) {
  std::vector<double> weight(64);
  for (size_t i = 0; i < weight.size(); ++i)
    weight[i] = 0.02 * std::sin(17.0 * i + 1.0);
  EXPECT_FALSE(rotary(weight, {8, 8}));
  EXPECT_FALSE(mask(weight, {8, 8}));
  EXPECT_FALSE(mask(std::vector<double>(64, 0.0), {8, 8})); // a zero bias
}

TEST(ShapeOnlyTables, AdditiveMasks) {
  double inf = std::numeric_limits<double>::infinity();
  double lowest = -std::numeric_limits<float>::max();
  std::vector<double> causal(16), minimum(16);
  for (int t = 0; t < 4; ++t)
    for (int s = 0; s < 4; ++s) {
      causal[t * 4 + s] = s > t ? -inf : 0.0;
      minimum[t * 4 + s] = s > t ? lowest : 0.0;
    }
  EXPECT_TRUE(mask(causal, {4, 4}));
  EXPECT_TRUE(mask(minimum, {1, 1, 4, 4}));
  std::vector<double> soft = causal;
  soft[0] = -0.5; // a soft bias is no mask
  EXPECT_FALSE(mask(soft, {4, 4}));
  EXPECT_FALSE(mask(causal, {16})); // rank 1
}

} // namespace
