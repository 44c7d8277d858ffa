//===- FuseLlmAttention.cpp - rope and attention patterns of off-fuse-llm -===//
//
// Rope: x * cos + rotate_half(x) * sin with constant tables.
// Attention: softmax(scale * q k^T + mask) v, grouped-query repeats dropped,
// the constant mask classified as causal / absent (anything else: no fusion).
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/AttentionMask.h"
#include "dialects/off/Transforms/FuseLlmPatterns.h"
#include "dialects/off/Transforms/HostTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cmath>

#define DEBUG_TYPE "off-fuse-llm"

namespace mlir::off {
namespace {

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

/// `slice(x) {axis = 3, start, end, step = 1}` of the given x.
bool isSliceOf(Value value, Value x, int64_t start, int64_t end) {
  auto slice = value.getDefiningOp<SliceOp>();
  // I64Attr getters are unsigned; the attributes are small and non-negative.
  return slice && slice.getInput() == x && slice.getAxis() == 3 &&
         static_cast<int64_t>(slice.getStart()) == start &&
         static_cast<int64_t>(slice.getEnd()) == end && slice.getStep() == 1;
}

/// concat(-x[..., D/2:], x[..., :D/2]) along the last axis; returns x.
Value matchRotateHalf(Value value) {
  auto concat = value.getDefiningOp<ConcatOp>();
  if (!concat || concat.getAxis() != 3 || concat.getInputs().size() != 2)
    return nullptr;
  auto neg = concat.getInputs()[0].getDefiningOp<NegOp>();
  if (!neg)
    return nullptr;
  auto high = neg.getInput().getDefiningOp<SliceOp>();
  if (!high)
    return nullptr;
  Value x = high.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  if (type.getRank() != 4 || type.getDimSize(3) % 2 != 0)
    return nullptr;
  int64_t d = type.getDimSize(3);
  if (!isSliceOf(neg.getInput(), x, d / 2, d) ||
      !isSliceOf(concat.getInputs()[1], x, 0, d / 2))
    return nullptr;
  return x;
}

/// The [T, D] table of a constant that broadcasts to x's [B, H, T, D] and
/// depends on (t, d) only, each frequency repeated in both halves.
std::optional<HostTensor> ropeTable(Value value, RankedTensorType xType) {
  DenseElementsAttr attr = constantAttr(value);
  if (!attr || attr.getElementType() != xType.getElementType())
    return std::nullopt;
  auto tensor = HostTensor::fromAttr(attr);
  if (!tensor || tensor->getRank() > 4)
    return std::nullopt;
  int64_t t = xType.getDimSize(2), d = xType.getDimSize(3);
  SmallVector<int64_t> shape(4 - tensor->getRank(), 1);
  llvm::append_range(shape, tensor->getShape());
  if (shape[2] != t || shape[3] != d || (shape[0] != 1 && shape[0] != xType.getDimSize(0)) ||
      (shape[1] != 1 && shape[1] != xType.getDimSize(1)))
    return std::nullopt;
  HostTensor table(RankedTensorType::get({t, d}, xType.getElementType()));
  int64_t slices = shape[0] * shape[1];
  for (int64_t i = 0; i < t * d; ++i) {
    double v = tensor->getFloat(i);
    for (int64_t s = 1; s < slices; ++s)
      if (tensor->getFloat(s * t * d + i) != v)
        return std::nullopt; // differs per batch or head
    table.setFloat(i, v);
  }
  for (int64_t row = 0; row < t; ++row)
    for (int64_t col = 0; col < d / 2; ++col)
      if (table.getFloat(row * d + col) != table.getFloat(row * d + col + d / 2))
        return std::nullopt;
  return table;
}

/// A constant at the top of the function, shared by every pattern that needs
/// the same value (each layer's rope reads the same two tables).
Value sharedConstant(PatternRewriter &rewriter, Operation *user,
                     DenseElementsAttr value) {
  auto func = user->getParentOfType<func::FuncOp>();
  Block &entry = func.getBody().front();
  for (Operation &op : entry) {
    auto constant = dyn_cast<ConstantOp>(op);
    if (!constant || constant.getValue() != value)
      continue;
    // A constant has no operands, so it may move to the top of the block,
    // where it dominates every user, whatever order the patterns ran in.
    bool dominates = user->getBlock() == &entry && constant->isBeforeInBlock(user);
    if (!dominates)
      rewriter.moveOpBefore(constant, &entry, entry.begin());
    return constant;
  }
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(&entry);
  return ConstantOp::create(rewriter, user->getLoc(), value);
}

struct FuseRope : OpRewritePattern<AddOp> {
  FuseRope(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}

  LogicalResult matchAndRewrite(AddOp op, PatternRewriter &rewriter) const override {
    for (auto [straight, rotated] :
         {std::pair{op.getLhs(), op.getRhs()}, std::pair{op.getRhs(), op.getLhs()}}) {
      auto mulCos = straight.getDefiningOp<MulOp>();
      auto mulSin = rotated.getDefiningOp<MulOp>();
      if (!mulCos || !mulSin)
        continue;
      for (auto [x, cosValue] : {std::pair{mulCos.getLhs(), mulCos.getRhs()},
                                 std::pair{mulCos.getRhs(), mulCos.getLhs()}}) {
        auto xType = dyn_cast<RankedTensorType>(x.getType());
        if (!xType || xType.getRank() != 4 || op.getType() != xType ||
            mulCos.getType() != xType || mulSin.getType() != xType)
          continue;
        for (auto [half, sinValue] : {std::pair{mulSin.getLhs(), mulSin.getRhs()},
                                      std::pair{mulSin.getRhs(), mulSin.getLhs()}}) {
          if (matchRotateHalf(half) != x)
            continue;
          auto cosTable = ropeTable(cosValue, xType);
          auto sinTable = ropeTable(sinValue, xType);
          if (!cosTable || !sinTable)
            continue;
          Value cos = sharedConstant(rewriter, op, cosTable->toAttr());
          Value sin = sharedConstant(rewriter, op, sinTable->toAttr());
          rewriter.replaceOpWithNewOp<RopeOp>(op, x, cos, sin);
          if (counter)
            ++*counter;
          return success();
        }
      }
    }
    return failure();
  }
  llvm::Statistic *counter;
};

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

/// The key/value heads before a grouped-query repeat
/// reshape(broadcast_to(reshape(k [B, Hkv, S, D] -> [B, Hkv, 1, S, D])
///   -> [B, Hkv, n, S, D]) -> [B, Hkv * n, S, D]), or the value itself.
Value peelHeadRepeat(Value value) {
  auto merge = value.getDefiningOp<ReshapeOp>();
  if (!merge)
    return value;
  auto broadcast = merge.getInput().getDefiningOp<BroadcastToOp>();
  if (!broadcast)
    return value;
  auto split = broadcast.getInput().getDefiningOp<ReshapeOp>();
  if (!split)
    return value;
  Value kv = split.getInput();
  auto kvType = cast<RankedTensorType>(kv.getType());
  if (kvType.getRank() != 4)
    return value;
  int64_t b = kvType.getDimSize(0), h = kvType.getDimSize(1);
  int64_t s = kvType.getDimSize(2), d = kvType.getDimSize(3);
  ArrayRef<int64_t> wide = broadcast.getType().getShape();
  if (wide.size() != 5)
    return value;
  int64_t n = wide[2];
  if (split.getType().getShape() != ArrayRef<int64_t>{b, h, 1, s, d} ||
      wide != ArrayRef<int64_t>{b, h, n, s, d} ||
      merge.getType().getShape() != ArrayRef<int64_t>{b, h * n, s, d})
    return value;
  return kv;
}

struct FuseAttention : OpRewritePattern<MatmulOp> {
  FuseAttention(MLIRContext *context, llvm::Statistic *counter)
      : OpRewritePattern(context), counter(counter) {}

  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    if (op.getTransposeLhs() || op.getTransposeRhs())
      return failure();
    auto softmax = op.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax || softmax.getType().getRank() != 4 || softmax.getAxis() != 3)
      return failure();
    double scale = 1.0;
    Value scores = peelScale(softmax.getInput(), scale);
    AttentionMaskKind mask = AttentionMaskKind::None;
    if (auto add = scores.getDefiningOp<AddOp>()) {
      bool found = false;
      for (auto [raw, maskValue] : {std::pair{add.getLhs(), add.getRhs()},
                                    std::pair{add.getRhs(), add.getLhs()}}) {
        DenseElementsAttr attr = constantAttr(maskValue);
        if (!attr || !keepsTypeOf(add, raw))
          continue;
        auto values = HostTensor::fromAttr(attr);
        mask = values ? classifyAdditiveMask(
                            *values, cast<RankedTensorType>(raw.getType()).getShape())
                      : AttentionMaskKind::Other;
        scores = raw;
        found = true;
        break;
      }
      if (!found || mask == AttentionMaskKind::Other)
        return failure();
    }
    if (!(scale > 0.0))
      return failure(); // a mask under a non-positive scale is no mask
    scores = peelScale(scores, scale);
    auto qk = scores.getDefiningOp<MatmulOp>();
    if (!qk || qk.getTransposeLhs())
      return failure();
    Value q = peelScale(qk.getLhs(), scale);
    Value keys = peelScale(qk.getRhs(), scale);
    // k^T as a transpose of some [.., .., .., ..] value x: k is x permuted
    // by the same perm with its last two entries swapped (a new transpose
    // unless that is the identity, as for transpose(k) {0, 1, 3, 2}). The
    // SDPA decomposition writes k^T = transpose(k [B, S, H, D]) {0, 2, 3, 1}.
    SmallVector<int64_t> keyPerm{0, 1, 2, 3};
    if (!qk.getTransposeRhs()) {
      auto transpose = keys.getDefiningOp<TransposeOp>();
      if (!transpose || transpose.getPerm().size() != 4)
        return failure();
      ArrayRef<int64_t> perm = transpose.getPerm();
      keyPerm = {perm[0], perm[1], perm[3], perm[2]};
      keys = peelScale(transpose.getInput(), scale);
    }
    bool permuteKeys = keyPerm != ArrayRef<int64_t>{0, 1, 2, 3};
    Value values = op.getRhs();
    auto qType = cast<RankedTensorType>(q.getType());
    auto kType = cast<RankedTensorType>(keys.getType());
    if (permuteKeys) {
      if (kType.getRank() != 4)
        return failure();
      SmallVector<int64_t> shape;
      for (int64_t d : keyPerm)
        shape.push_back(kType.getDimSize(d));
      kType = RankedTensorType::get(shape, kType.getElementType());
    }
    auto vType = cast<RankedTensorType>(values.getType());
    // Before the repeats are dropped every operand has the query's heads.
    if (qType.getRank() != 4 || kType.getRank() != 4 || vType.getRank() != 4 ||
        kType.getShape().take_front(2) != qType.getShape().take_front(2) ||
        vType.getShape().take_front(3) != kType.getShape().take_front(3) ||
        kType.getDimSize(3) != qType.getDimSize(3))
      return failure();
    Value k = permuteKeys ? keys : peelHeadRepeat(keys), v = peelHeadRepeat(values);
    auto kvHeadsOf = [&](Value x) {
      return x == keys && permuteKeys ? kType.getDimSize(1)
                                      : cast<RankedTensorType>(x.getType()).getDimSize(1);
    };
    if (kvHeadsOf(k) != kvHeadsOf(v) || qType.getDimSize(1) % kvHeadsOf(k) != 0)
      return failure();
    double headDim = static_cast<double>(qType.getDimSize(3));
    double defaultScale = 1.0 / std::sqrt(headDim);
    FloatAttr scaleAttr;
    if (std::abs(scale - defaultScale) > 1e-6 * defaultScale)
      scaleAttr = rewriter.getF64FloatAttr(scale);
    if (permuteKeys)
      k = TransposeOp::create(rewriter, op.getLoc(), keys, keyPerm);
    // Types were checked above: the fused op's inferred result is op's type.
    rewriter.replaceOpWithNewOp<AttentionOp>(op, q, k, v, mask == AttentionMaskKind::Causal,
                                             scaleAttr);
    if (counter)
      ++*counter;
    return success();
  }
  llvm::Statistic *counter;
};

/// An attention op (from ONNX's Attention) whose keys and values are both
/// grouped-query repeats of Hkv heads reads the Hkv heads directly: the op
/// maps query head h to key/value head h / (Hq / Hkv), as the repeat does.
struct DropAttentionHeadRepeat : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    Value k = peelHeadRepeat(op.getKey()), v = peelHeadRepeat(op.getValue());
    if (k == op.getKey() || v == op.getValue())
      return failure();
    auto heads = [](Value x) { return cast<RankedTensorType>(x.getType()).getDimSize(1); };
    if (heads(k) != heads(v) || heads(op.getQuery()) % heads(k) != 0)
      return failure();
    rewriter.replaceOpWithNewOp<AttentionOp>(op, op.getQuery(), k, v, op.getCausal(),
                                             op.getScaleAttr());
    return success();
  }
};

} // namespace

void populateFuseLlmAttentionPatterns(RewritePatternSet &patterns,
                                      const FusionCounters &counters) {
  MLIRContext *context = patterns.getContext();
  patterns.add<FuseRope>(context, counters.rope);
  patterns.add<FuseAttention>(context, counters.attention);
  patterns.add<DropAttentionHeadRepeat>(context);
}

} // namespace mlir::off
