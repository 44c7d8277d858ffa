// Builders infer result types: a pass creating ops never spells out shapes.

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

class OpInference : public ::testing::Test {
protected:
  OpInference() : builder(&context) {
    context.loadDialect<off::OffDialect>();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToEnd(module->getBody());
  }
  Value param(StringRef name, ArrayRef<int64_t> shape, Type elem = {}) {
    auto type = RankedTensorType::get(shape, elem ? elem : builder.getF32Type());
    return off::ParamOp::create(builder, builder.getUnknownLoc(), type, name,
                                /*trainable=*/false);
  }
  ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(OpInference, LinearLayerMatmul) {
  Value x = param("x", {2, 8, 64}), w = param("w", {128, 64});
  auto y = off::MatmulOp::create(builder, builder.getUnknownLoc(), x, w,
                                 /*transpose_lhs=*/false, /*transpose_rhs=*/true);
  EXPECT_EQ(shapeOf(y), (ArrayRef<int64_t>{2, 8, 128}));
  EXPECT_TRUE(succeeded(verify(*module)));
}

TEST_F(OpInference, GroupedQueryAttention) {
  Value q = param("q", {2, 8, 16, 32}), k = param("k", {2, 2, 16, 32});
  Value v = param("v", {2, 2, 16, 24});
  auto o = off::AttentionOp::create(builder, builder.getUnknownLoc(), q, k, v,
                                    /*causal=*/true, /*scale=*/nullptr);
  EXPECT_EQ(shapeOf(o), (ArrayRef<int64_t>{2, 8, 16, 24}));
  EXPECT_DOUBLE_EQ(o.getScaleOrDefault(), 1.0 / std::sqrt(32.0));
}

TEST_F(OpInference, EmbeddingAppendsChannels) {
  Value table = param("t", {256, 64});
  Value ids = param("ids", {2, 8}, builder.getI32Type());
  auto x = off::EmbeddingOp::create(builder, builder.getUnknownLoc(), table, ids);
  EXPECT_EQ(shapeOf(x), (ArrayRef<int64_t>{2, 8, 64}));
}

TEST_F(OpInference, ReduceScatterDividesAxis) {
  Value g = param("g", {64, 32});
  auto s = off::ReduceScatterOp::create(builder, builder.getUnknownLoc(), g,
                                        /*axis=*/0, /*ranks=*/4);
  EXPECT_EQ(shapeOf(s), (ArrayRef<int64_t>{16, 32}));
  auto a = off::AllGatherOp::create(builder, builder.getUnknownLoc(), s, 0, 4);
  EXPECT_EQ(shapeOf(a), (ArrayRef<int64_t>{64, 32}));
}

} // namespace
