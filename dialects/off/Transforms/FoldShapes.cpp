//===- FoldShapes.cpp - off-fold-shapes: fold constants and layout chains -===//
//
// Step 1 walks each function in program order and replaces every op whose
// operands are all constants by the constant it computes (ConstantFolding.h),
// so a whole shape/mask/table subgraph collapses in one walk. Step 2 runs the
// layout simplifications below with the greedy driver, which also erases the
// ops left without users.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/ConstantFolding.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "off-fold-shapes"

namespace mlir::off {
#define GEN_PASS_DEF_FOLDSHAPESPASS
#include "dialects/off/Transforms/Passes.h.inc"

namespace {

//===----------------------------------------------------------------------===//
// Layout simplifications
//===----------------------------------------------------------------------===//

/// A reshape, broadcast_to or cast to the type it already has.
template <typename OpTy>
struct RemoveSameType : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    if (op.getInput().getType() != op.getType())
      return failure();
    rewriter.replaceOp(op, op.getInput());
    return success();
  }
};

/// reshape(reshape(x)) is one reshape of x.
struct MergeReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getInput());
    return success();
  }
};

bool isIdentity(ArrayRef<int64_t> perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return false;
  return true;
}

/// An identity transpose goes; transpose(transpose(x)) is one transpose.
struct SimplifyTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    if (isIdentity(op.getPerm())) {
      rewriter.replaceOp(op, op.getInput());
      return success();
    }
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    // Result dim i is inner's dim perm[i], which is x's dim innerPerm[perm[i]].
    SmallVector<int64_t> composed;
    for (int64_t p : op.getPerm())
      composed.push_back(inner.getPerm()[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, inner.getInput(), composed);
    return success();
  }
};

/// A slice that keeps the whole axis.
struct RemoveFullSlice : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op, PatternRewriter &rewriter) const override {
    if (op.getInput().getType() != op.getType() || op.getStart() != 0 ||
        op.getStep() != 1)
      return failure();
    rewriter.replaceOp(op, op.getInput());
    return success();
  }
};

/// A concat of one tensor is that tensor.
struct RemoveSingleConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &rewriter) const override {
    if (op.getInputs().size() != 1)
      return failure();
    rewriter.replaceOp(op, op.getInputs().front());
    return success();
  }
};

/// The permutation `reshape(transpose(reshape(x, mid), perm), out)` applies to
/// x's dimensions, when the first reshape only merges neighbouring dims of x,
/// the transpose moves whole merged groups and the second reshape splits them
/// back into x's dims (size-1 dims may sit anywhere). Sets `permOut` so that
/// transpose(x, permOut) has the type `out`.
bool permutationOfChain(ArrayRef<int64_t> in, ArrayRef<int64_t> mid,
                        ArrayRef<int64_t> perm, ArrayRef<int64_t> out,
                        SmallVectorImpl<int64_t> &permOut) {
  if (in.size() != out.size())
    return false;
  // Group the input dims of size > 1 under each mid dim (by product).
  SmallVector<SmallVector<int64_t>> groups(mid.size());
  size_t next = 0;
  auto skipOnes = [&] {
    while (next < in.size() && in[next] == 1)
      ++next;
  };
  for (size_t j = 0; j < mid.size(); ++j) {
    int64_t product = 1;
    while (product < mid[j]) {
      skipOnes();
      if (next == in.size())
        return false;
      product *= in[next];
      groups[j].push_back(static_cast<int64_t>(next++));
    }
    if (product != mid[j])
      return false;
  }
  skipOnes();
  if (next != in.size())
    return false;
  // Input dims (of size > 1) in the order the transpose leaves them.
  SmallVector<int64_t> order;
  for (int64_t p : perm)
    llvm::append_range(order, groups[p]);
  SmallVector<int64_t> onesOfInput;
  for (size_t d = 0; d < in.size(); ++d)
    if (in[d] == 1)
      onesOfInput.push_back(static_cast<int64_t>(d));
  size_t nextBig = 0, nextOne = 0;
  permOut.clear();
  for (int64_t size : out) {
    if (size == 1) {
      if (nextOne == onesOfInput.size())
        return false;
      permOut.push_back(onesOfInput[nextOne++]);
      continue;
    }
    if (nextBig == order.size() || in[order[nextBig]] != size)
      return false;
    permOut.push_back(order[nextBig++]);
  }
  return nextBig == order.size() && nextOne == onesOfInput.size();
}

/// reshape - transpose - reshape that only permutes x's dims (as the SDPA
/// decomposition writes k^T through a [B*H, T, D] view) is one transpose.
struct ReshapeTransposeReshapeToTranspose : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto transpose = op.getInput().getDefiningOp<TransposeOp>();
    if (!transpose)
      return failure();
    auto first = transpose.getInput().getDefiningOp<ReshapeOp>();
    if (!first)
      return failure();
    Value x = first.getInput();
    SmallVector<int64_t> perm;
    if (!permutationOfChain(cast<RankedTensorType>(x.getType()).getShape(),
                            first.getType().getShape(), transpose.getPerm(),
                            op.getType().getShape(), perm))
      return failure();
    rewriter.replaceOpWithNewOp<TransposeOp>(op, x, perm);
    return success();
  }
};

/// reshape - transpose - reshape where the transpose swaps the last two
/// dims and the reshapes only regroup the leading (batch) dims is a reshape
/// of x's leading dims, then the swap: the static dynamo export writes k^T
/// of repeated key heads as reshape([B, Hkv, n, S, D] -> [B*H, S, D]),
/// transpose, reshape to [B, H, D, S].
struct SwapLastTwoThroughBatchReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto transpose = op.getInput().getDefiningOp<TransposeOp>();
    if (!transpose)
      return failure();
    auto first = transpose.getInput().getDefiningOp<ReshapeOp>();
    if (!first)
      return failure();
    ArrayRef<int64_t> perm = transpose.getPerm();
    int64_t rank = perm.size();
    if (rank < 2 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1)
      return failure();
    for (int64_t d = 0; d + 2 < rank; ++d)
      if (perm[d] != d)
        return failure();
    auto in = cast<RankedTensorType>(first.getInput().getType());
    ArrayRef<int64_t> mid = first.getType().getShape(), out = op.getType().getShape();
    if (in.getRank() < 2 || out.size() < 2 ||
        in.getShape().take_back(2) != mid.take_back(2) ||
        out.take_back(2) != transpose.getType().getShape().take_back(2))
      return failure();
    SmallVector<int64_t> regrouped(out.drop_back(2));
    llvm::append_range(regrouped, in.getShape().take_back(2));
    Value reshaped = ReshapeOp::create(
        rewriter, op.getLoc(), RankedTensorType::get(regrouped, in.getElementType()),
        first.getInput());
    SmallVector<int64_t> swap;
    for (int64_t d = 0; d < static_cast<int64_t>(out.size()); ++d)
      swap.push_back(d);
    std::swap(swap[out.size() - 1], swap[out.size() - 2]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, reshaped, swap);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct FoldShapesPass : impl::FoldShapesPassBase<FoldShapesPass> {
  using Base::Base;

  /// Step 1 on one block; false after an Invalid evaluation (reported).
  bool foldConstants(Block &block) {
    // Values of the constants seen so far, keyed by their op. Only constant
    // ops are keys and none is erased in this step, so no key goes stale.
    llvm::DenseMap<Operation *, std::shared_ptr<HostTensor>> known;
    auto valueOf = [&](Value value) -> const HostTensor * {
      auto constant = value.getDefiningOp<ConstantOp>();
      if (!constant)
        return nullptr;
      auto &slot = known[constant];
      if (!slot) {
        auto read = HostTensor::fromAttr(constant.getValue());
        if (!read)
          return nullptr;
        slot = std::make_shared<HostTensor>(std::move(*read));
      }
      return slot.get();
    };
    OpBuilder builder(&getContext());
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (!isa<OffDialect>(op.getDialect()) || isa<ConstantOp, ParamOp>(op) ||
          op.getNumResults() != 1 || op.getNumOperands() == 0)
        continue;
      SmallVector<const HostTensor *> operands;
      for (Value operand : op.getOperands())
        operands.push_back(valueOf(operand));
      if (llvm::is_contained(operands, nullptr))
        continue;
      FoldOutcome outcome = evaluateOffOp(&op, operands, maxElements);
      if (outcome.kind == FoldOutcome::Invalid) {
        op.emitError("off-fold-shapes: cannot fold: ") << outcome.error;
        return false;
      }
      if (outcome.kind != FoldOutcome::Folded)
        continue;
      builder.setInsertionPoint(&op);
      auto constant = ConstantOp::create(builder, op.getLoc(), outcome.value.toAttr());
      known[constant] = std::make_shared<HostTensor>(std::move(outcome.value));
      op.getResult(0).replaceAllUsesWith(constant);
      op.erase();
      ++numFolded;
    }
    return true;
  }

  void runOnOperation() override {
    bool ok = true;
    getOperation()->walk([&](func::FuncOp func) {
      for (Block &block : func.getBody())
        ok &= foldConstants(block);
    });
    if (!ok)
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    patterns.add<RemoveSameType<ReshapeOp>, RemoveSameType<BroadcastToOp>,
                 RemoveSameType<CastOp>, MergeReshapes, SimplifyTranspose,
                 RemoveFullSlice, RemoveSingleConcat,
                 ReshapeTransposeReshapeToTranspose,
                 SwapLastTwoThroughBatchReshapes>(&getContext());
    // Folding off: constants stay where they are (the driver would hoist and
    // unique them); the driver still erases ops left without users.
    GreedyRewriteConfig config;
    config.enableFolding(false).enableConstantCSE(false).setRegionSimplificationLevel(
        GreedySimplifyRegionLevel::Disabled);
    struct Counter : RewriterBase::Listener {
      int64_t replaced = 0;
      void notifyOperationReplaced(Operation *, ValueRange) override { ++replaced; }
    } counter;
    config.setListener(&counter);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      LLVM_DEBUG(llvm::dbgs() << "off-fold-shapes: simplification did not converge\n");
    numSimplified += counter.replaced;
  }
};

} // namespace
} // namespace mlir::off
