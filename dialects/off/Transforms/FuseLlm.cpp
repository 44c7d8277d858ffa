//===- FuseLlm.cpp - off-fuse-llm: raise op patterns to fused LLM ops -----===//
//
// The pass, the matchers the patterns share, and the patterns for rms_norm,
// silu/swiglu, embedding and matmul-transpose. Rope and attention live in
// FuseLlmAttention.cpp. Every pattern checks types exactly: a near miss is
// left generic, never fused into something that computes another thing.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/AttentionMask.h"
#include "dialects/off/Transforms/FuseLlmPatterns.h"
#include "dialects/off/Transforms/HostTensor.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#include <cmath>

#define DEBUG_TYPE "off-fuse-llm"

namespace mlir::off {
#define GEN_PASS_DEF_FUSELLMPASS
#include "dialects/off/Transforms/Passes.h.inc"

//===----------------------------------------------------------------------===//
// Shared matchers
//===----------------------------------------------------------------------===//

DenseElementsAttr constantAttr(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return nullptr;
  return dyn_cast<DenseElementsAttr>(constant.getValue());
}

std::optional<double> splatConstant(Value value) {
  DenseElementsAttr attr = constantAttr(value);
  if (!attr || !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  auto tensor = HostTensor::fromAttr(attr);
  if (!tensor || tensor->size() == 0)
    return std::nullopt;
  double first = tensor->getFloat(0);
  for (int64_t i = 1; i < tensor->size(); ++i)
    if (tensor->getFloat(i) != first)
      return std::nullopt;
  if (cast<FloatType>(attr.getElementType()).getWidth() <= 32)
    return shortestF32Decimal(first);
  return first;
}

bool keepsTypeOf(Operation *op, Value operand) {
  return op->getResult(0).getType() == operand.getType();
}

Value peelScale(Value value, double &factor) {
  while (Operation *op = value.getDefiningOp()) {
    if (!isa<MulOp, DivOp>(op))
      break;
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    if (auto c = splatConstant(rhs); c && keepsTypeOf(op, lhs)) {
      factor = isa<MulOp>(op) ? factor * *c : factor / *c;
      value = lhs;
      continue;
    }
    if (auto c = splatConstant(lhs); c && isa<MulOp>(op) && keepsTypeOf(op, rhs)) {
      factor *= *c;
      value = rhs;
      continue;
    }
    break;
  }
  return value;
}

namespace {

/// Both orders of a commutative op's operands.
SmallVector<std::pair<Value, Value>, 2> bothOrders(Operation *op) {
  return {{op->getOperand(0), op->getOperand(1)},
          {op->getOperand(1), op->getOperand(0)}};
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

/// mean(x*x, last axis, keepdims) + eps, with eps a positive scalar constant.
bool matchMeanSquarePlusEps(Value value, Value x, double &eps) {
  auto add = value.getDefiningOp<AddOp>();
  if (!add)
    return false;
  for (auto [mean, epsValue] : bothOrders(add)) {
    auto c = splatConstant(epsValue);
    if (!c || !(*c > 0.0) || !keepsTypeOf(add, mean))
      continue;
    auto reduce = mean.getDefiningOp<ReduceMeanOp>();
    if (!reduce || !reduce.getKeepdims())
      continue;
    auto inType = cast<RankedTensorType>(reduce.getInput().getType());
    if (reduce.getAxes() != ArrayRef<int64_t>{inType.getRank() - 1})
      continue;
    auto square = reduce.getInput().getDefiningOp<MulOp>();
    if (!square || square.getLhs() != x || square.getRhs() != x)
      continue;
    eps = *c;
    return true;
  }
  return false;
}

/// 1/sqrt(m) written as rsqrt(m) or 1 / sqrt(m).
bool matchInverseRms(Value value, Value x, double &eps) {
  if (auto rsqrt = value.getDefiningOp<RsqrtOp>())
    return matchMeanSquarePlusEps(rsqrt.getInput(), x, eps);
  if (auto div = value.getDefiningOp<DivOp>()) {
    auto one = splatConstant(div.getLhs());
    auto sqrt = div.getRhs().getDefiningOp<SqrtOp>();
    return one && *one == 1.0 && sqrt && keepsTypeOf(div, div.getRhs()) &&
           matchMeanSquarePlusEps(sqrt.getInput(), x, eps);
  }
  return false;
}

/// x * inverse-rms(x) in either order, or x / sqrt(mean(x*x) + eps).
bool matchNormalized(Value value, Value &x, double &eps) {
  if (auto mul = value.getDefiningOp<MulOp>()) {
    for (auto [candidate, inverse] : bothOrders(mul))
      if (keepsTypeOf(mul, candidate) && matchInverseRms(inverse, candidate, eps)) {
        x = candidate;
        return true;
      }
    return false;
  }
  if (auto div = value.getDefiningOp<DivOp>()) {
    auto sqrt = div.getRhs().getDefiningOp<SqrtOp>();
    if (sqrt && keepsTypeOf(div, div.getLhs()) &&
        matchMeanSquarePlusEps(sqrt.getInput(), div.getLhs(), eps)) {
      x = div.getLhs();
      return true;
    }
  }
  return false;
}

struct FuseRmsNorm : OpRewritePattern<MulOp> {
  FuseRmsNorm(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    for (auto [weight, normalized] : bothOrders(op)) {
      auto weightType = dyn_cast<RankedTensorType>(weight.getType());
      auto type = dyn_cast<RankedTensorType>(normalized.getType());
      if (!weightType || !type || weightType.getRank() != 1 || type.getRank() < 1 ||
          weightType.getDimSize(0) != type.getDimSize(type.getRank() - 1) ||
          !keepsTypeOf(op, normalized))
        continue;
      Value x;
      double eps = 0.0;
      if (!matchNormalized(normalized, x, eps))
        continue;
      rewriter.replaceOpWithNewOp<RmsNormOp>(op, x, weight,
                                             rewriter.getF64FloatAttr(eps));
      if (counter)
        ++*counter;
      return success();
    }
    return failure();
  }
  llvm::Statistic *counter;
};

//===----------------------------------------------------------------------===//
// silu, swiglu, embedding, matmul transposes
//===----------------------------------------------------------------------===//

/// x * sigmoid(x) is silu(x).
struct FuseSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    for (auto [x, gate] : bothOrders(op)) {
      auto sigmoid = gate.getDefiningOp<SigmoidOp>();
      if (sigmoid && sigmoid.getInput() == x && keepsTypeOf(op, x)) {
        rewriter.replaceOpWithNewOp<SiluOp>(op, x);
        return success();
      }
    }
    return failure();
  }
};

/// silu(g) * u, all three of one type, is swiglu(g, u).
struct FuseSwiglu : OpRewritePattern<MulOp> {
  FuseSwiglu(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    for (auto [activated, up] : bothOrders(op)) {
      auto silu = activated.getDefiningOp<SiluOp>();
      if (!silu || silu.getInput().getType() != op.getType() ||
          up.getType() != op.getType())
        continue;
      rewriter.replaceOpWithNewOp<SwigluOp>(op, silu.getInput(), up);
      if (counter)
        ++*counter;
      return success();
    }
    return failure();
  }
  llvm::Statistic *counter;
};

/// gather(table [V, C], integer ids) {axis = 0} is an embedding lookup. Ids
/// widened by a cast (i32 model input ids read as ONNX's i64) are read
/// before the cast: widening does not change an index.
struct FuseEmbedding : OpRewritePattern<GatherOp> {
  FuseEmbedding(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}
  LogicalResult matchAndRewrite(GatherOp op, PatternRewriter &rewriter) const override {
    auto table = cast<RankedTensorType>(op.getData().getType());
    if (op.getAxis() != 0 || table.getRank() != 2 ||
        !isa<FloatType>(table.getElementType()))
      return failure();
    Value ids = op.getIndices();
    if (auto widen = ids.getDefiningOp<CastOp>()) {
      auto from = dyn_cast<IntegerType>(
          cast<RankedTensorType>(widen.getInput().getType()).getElementType());
      auto to = dyn_cast<IntegerType>(
          cast<RankedTensorType>(widen.getResult().getType()).getElementType());
      if (from && to && from.getWidth() > 1 && from.getWidth() <= to.getWidth() &&
          !from.isUnsigned() && !to.isUnsigned())
        ids = widen.getInput();
    }
    rewriter.replaceOpWithNewOp<EmbeddingOp>(op, op.getData(), ids);
    if (counter)
      ++*counter;
    return success();
  }
  llvm::Statistic *counter;
};

/// A transpose that swaps only the last two dims of a matmul operand becomes
/// the operand's transpose flag.
struct AbsorbTransposeIntoMatmul : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  static Value swappedLastTwo(Value value) {
    auto transpose = value.getDefiningOp<TransposeOp>();
    if (!transpose)
      return nullptr;
    ArrayRef<int64_t> perm = transpose.getPerm();
    int64_t rank = perm.size();
    if (rank < 2 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1)
      return nullptr;
    for (int64_t d = 0; d + 2 < rank; ++d)
      if (perm[d] != d)
        return nullptr;
    return transpose.getInput();
  }
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    Value lhs = swappedLastTwo(op.getLhs()), rhs = swappedLastTwo(op.getRhs());
    if (!lhs && !rhs)
      return failure();
    rewriter.replaceOpWithNewOp<MatmulOp>(
        op, lhs ? lhs : op.getLhs(), rhs ? rhs : op.getRhs(),
        lhs ? !op.getTransposeLhs() : op.getTransposeLhs(),
        rhs ? !op.getTransposeRhs() : op.getTransposeRhs());
    return success();
  }
};

} // namespace

void populateFuseLlmBasicPatterns(RewritePatternSet &patterns,
                                  const FusionCounters &counters) {
  MLIRContext *context = patterns.getContext();
  patterns.add<FuseRmsNorm>(context, counters.rmsNorm);
  patterns.add<FuseSwiglu>(context, counters.swiglu);
  patterns.add<FuseEmbedding>(context, counters.embedding);
  patterns.add<FuseSilu, AbsorbTransposeIntoMatmul>(context);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct FuseLlmPass : impl::FuseLlmPassBase<FuseLlmPass> {
  using Base::Base;
  void runOnOperation() override {
    FusionCounters counters;
    counters.rmsNorm = &numRmsNorm;
    counters.rope = &numRope;
    counters.attention = &numAttention;
    counters.swiglu = &numSwiglu;
    counters.embedding = &numEmbedding;
    RewritePatternSet patterns(&getContext());
    populateFuseLlmBasicPatterns(patterns, counters);
    populateFuseLlmAttentionPatterns(patterns, counters);
    GreedyRewriteConfig config;
    config.enableFolding(false).enableConstantCSE(false).setRegionSimplificationLevel(
        GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      LLVM_DEBUG(llvm::dbgs() << "off-fuse-llm: rewriting did not converge\n");
  }
};
} // namespace

} // namespace mlir::off
