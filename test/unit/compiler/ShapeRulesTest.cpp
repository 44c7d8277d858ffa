#include "dialects/off/IR/ShapeRules.h"

#include <gtest/gtest.h>

using namespace mlir::off;

TEST(ShapeRules, BroadcastAlignsFromTheRight) {
  llvm::SmallVector<int64_t> out;
  ASSERT_TRUE(broadcastShapes({2, 8, 64}, {64}, out));
  EXPECT_EQ(out, (llvm::SmallVector<int64_t>{2, 8, 64}));
  ASSERT_TRUE(broadcastShapes({2, 1, 5}, {3, 1}, out));
  EXPECT_EQ(out, (llvm::SmallVector<int64_t>{2, 3, 5}));
  ASSERT_TRUE(broadcastShapes({}, {4}, out));
  EXPECT_EQ(out, (llvm::SmallVector<int64_t>{4}));
}

TEST(ShapeRules, BroadcastRejectsMismatch) {
  llvm::SmallVector<int64_t> out;
  EXPECT_FALSE(broadcastShapes({2, 3}, {4}, out));
  EXPECT_FALSE(broadcastShapes({2, 3}, {2, 1, 2}, out));
}

TEST(ShapeRules, Permutation) {
  EXPECT_TRUE(isPermutation({0, 2, 1, 3}, 4));
  EXPECT_FALSE(isPermutation({0, 1, 1, 3}, 4));
  EXPECT_FALSE(isPermutation({0, 1, 2}, 4));
  EXPECT_FALSE(isPermutation({0, 1, 2, 4}, 4));
  EXPECT_FALSE(isPermutation({-1, 0}, 2));
}
