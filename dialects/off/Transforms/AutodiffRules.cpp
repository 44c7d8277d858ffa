//===- AutodiffRules.cpp - reverse-mode rules of the off ops --------------===//
//
// One rule per differentiable op. Each rule follows the formula PyTorch's
// autograd uses for the same op (tools/autograd/derivatives.yaml), operand
// order included where it changes the rounding, so that the fp32 gradients
// of a plan are those of a PyTorch run to within a few ulps.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/AutodiffRules.h"

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "off-autodiff"

using namespace mlir;
using namespace mlir::off;

Value mlir::off::sumToShape(OpBuilder &builder, Location loc, Value grad,
                            RankedTensorType type) {
  auto gradType = cast<RankedTensorType>(grad.getType());
  if (gradType.getShape() == type.getShape())
    return grad;
  int64_t lead = gradType.getRank() - type.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < lead; ++d)
    axes.push_back(d);
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.getDimSize(d) == 1 && gradType.getDimSize(lead + d) != 1)
      axes.push_back(lead + d);
  // Only leading dims: drop them. Only stretched dims: keep them as 1.
  // Both: drop all, then reshape the 1s back in.
  Value sum = ReduceSumOp::create(builder, loc, grad, axes,
                                  /*keepdims=*/lead == 0);
  if (cast<RankedTensorType>(sum.getType()).getShape() != type.getShape())
    sum = ReshapeOp::create(builder, loc, type, sum);
  return sum;
}

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Emits the ops of one rule; every op gets the forward op's location.
class RuleEmitter {
public:
  RuleEmitter(OpBuilder &builder, Operation *op, ReshapeCache &reshapes)
      : b(builder), loc(op->getLoc()), op(op), reshapes(reshapes) {}

  Value scalar(Value like, double value) {
    Type elem = typeOf(like).getElementType();
    auto type = RankedTensorType::get({}, elem);
    auto attr = DenseElementsAttr::get(type, b.getFloatAttr(elem, value));
    return ConstantOp::create(b, loc, cast<ElementsAttr>(attr));
  }
  Value add(Value x, Value y) { return AddOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return SubOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return MulOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return DivOp::create(b, loc, x, y); }
  Value neg(Value x) { return NegOp::create(b, loc, x); }
  Value reshape(Value x, RankedTensorType type) {
    if (typeOf(x) == type)
      return x;
    Value &cached = reshapes[{x, type}];
    if (!cached)
      cached = ReshapeOp::create(b, loc, type, x);
    return cached;
  }
  Value matmul(Value x, Value y, bool transposeX, bool transposeY) {
    return MatmulOp::create(b, loc, x, y, transposeX, transposeY);
  }
  Value sumTo(Value grad, Value operand) {
    return sumToShape(b, loc, grad, typeOf(operand));
  }
  /// The gradient of a reduction's input: `dy` with the reduced axes put
  /// back as size 1, broadcast to the input's shape.
  Value unreduce(Value dy, Value input, ArrayRef<int64_t> axes) {
    SmallVector<int64_t> kept(typeOf(input).getShape());
    for (int64_t axis : axes)
      kept[axis] = 1;
    auto keptType =
        RankedTensorType::get(kept, typeOf(input).getElementType());
    Value x = reshape(dy, keptType);
    if (keptType == typeOf(input))
      return x;
    return BroadcastToOp::create(b, loc, typeOf(input), x);
  }

  InFlightDiagnostic unsupported(StringRef why) {
    return op->emitError("off-autodiff: cannot differentiate '")
           << op->getName() << "': " << why;
  }

  OpBuilder &b;
  Location loc;
  Operation *op;
  ReshapeCache &reshapes;
};

/// y = op(A) @ op(B) with op(A) `[..., M, K]`, op(B) `[..., K, N]`.
void matmulRule(RuleEmitter &e, MatmulOp mm, Value dy, ArrayRef<bool> needed,
                SmallVectorImpl<Value> &grads) {
  Value a = mm.getLhs(), bm = mm.getRhs();
  bool tl = mm.getTransposeLhs(), tr = mm.getTransposeRhs();
  if (needed[0]) {
    // dA = dy op(B)^T, written in A's stored layout.
    Value da = tl ? e.matmul(bm, dy, /*tx=*/tr, /*ty=*/true)
                  : e.matmul(dy, bm, false, /*ty=*/!tr);
    grads[0] = e.sumTo(da, a);
  }
  if (needed[1]) {
    auto aType = typeOf(a), dyType = typeOf(dy);
    if (typeOf(bm).getRank() == 2 && aType.getRank() > 2 && !tl) {
      // A Linear weight: one matmul over all rows of A (as torch's linear,
      // which folds the leading dims of a 3-D input into rows).
      int64_t rows = aType.getNumElements() / aType.getShape().back();
      Value a2 = e.reshape(a, RankedTensorType::get(
                                  {rows, aType.getShape().back()},
                                  aType.getElementType()));
      Value dy2 = e.reshape(dy, RankedTensorType::get(
                                    {rows, dyType.getShape().back()},
                                    dyType.getElementType()));
      grads[1] = tr ? e.matmul(dy2, a2, true, false)  // [N, K] = dy^T A
                    : e.matmul(a2, dy2, true, false); // [K, N] = A^T dy
    } else {
      // dB = op(A)^T dy, written in B's stored layout; broadcast batch
      // dims are summed back.
      Value db = tr ? e.matmul(dy, a, true, /*ty=*/tl)
                    : e.matmul(a, dy, /*tx=*/!tl, false);
      grads[1] = e.sumTo(db, bm);
    }
  }
}

} // namespace

FailureOr<SmallVector<Value>> mlir::off::emitBackward(
    OpBuilder &builder, Operation *op, ArrayRef<Value> resultGrads,
    ArrayRef<bool> needed, ReshapeCache &reshapes) {
  RuleEmitter e(builder, op, reshapes);
  SmallVector<Value> grads(op->getNumOperands());
  Value dy = resultGrads.empty() ? Value() : resultGrads.front();
  if (!dy)
    return grads;
  auto need = [&](unsigned i) { return needed[i]; };
  LLVM_DEBUG(llvm::dbgs() << "[off-autodiff] backward of " << *op << "\n");

  LogicalResult result =
      llvm::TypeSwitch<Operation *, LogicalResult>(op)
          .Case([&](MatmulOp mm) {
            matmulRule(e, mm, dy, needed, grads);
            return success();
          })
          .Case([&](AddOp add) {
            if (need(0)) grads[0] = e.sumTo(dy, add.getLhs());
            if (need(1)) grads[1] = e.sumTo(dy, add.getRhs());
            return success();
          })
          .Case([&](SubOp sub) {
            if (need(0)) grads[0] = e.sumTo(dy, sub.getLhs());
            if (need(1)) grads[1] = e.neg(e.sumTo(dy, sub.getRhs()));
            return success();
          })
          .Case([&](MulOp mul) {
            // grad * other, grad * self
            if (need(0)) grads[0] = e.sumTo(e.mul(dy, mul.getRhs()), mul.getLhs());
            if (need(1)) grads[1] = e.sumTo(e.mul(dy, mul.getLhs()), mul.getRhs());
            return success();
          })
          .Case([&](DivOp div) {
            // grad / other, -grad * ((self / other) / other)
            Value x = div.getLhs(), y = div.getRhs();
            if (need(0)) grads[0] = e.sumTo(e.div(dy, y), x);
            if (need(1)) {
              Value negGrad = e.neg(dy);
              Value quotient = e.div(div.getResult(), y);
              grads[1] = e.sumTo(e.mul(negGrad, quotient), y);
            }
            return success();
          })
          .Case([&](NegOp) {
            grads[0] = e.neg(dy);
            return success();
          })
          .Case([&](ExpOp exp) { // grad * result
            grads[0] = e.mul(dy, exp.getResult());
            return success();
          })
          .Case([&](SqrtOp sqrt) { // grad / (2 * result)
            Value y = sqrt.getResult();
            grads[0] = e.div(dy, e.mul(e.scalar(y, 2.0), y));
            return success();
          })
          .Case([&](RsqrtOp rsqrt) { // -0.5 * grad * result^3
            Value y = rsqrt.getResult();
            Value cube = e.mul(e.mul(y, y), y);
            grads[0] = e.mul(e.mul(e.scalar(y, -0.5), dy), cube);
            return success();
          })
          .Case([&](SigmoidOp sigmoid) { // grad * (1 - y) * y
            Value y = sigmoid.getResult();
            grads[0] = e.mul(e.mul(dy, e.sub(e.scalar(y, 1.0), y)), y);
            return success();
          })
          .Case([&](SiluOp silu) { // grad * s * (1 + x * (1 - s))
            Value x = silu.getInput();
            Value s = SigmoidOp::create(e.b, e.loc, x);
            Value one = e.scalar(x, 1.0);
            Value inner = e.add(one, e.mul(x, e.sub(one, s)));
            grads[0] = e.mul(e.mul(dy, s), inner);
            return success();
          })
          .Case([&](CastOp cast) {
            grads[0] = CastOp::create(e.b, e.loc, cast.getInput().getType(), dy);
            return success();
          })
          .Case([&](ReshapeOp reshape) {
            grads[0] = e.reshape(dy, reshape.getInput().getType());
            return success();
          })
          .Case([&](TransposeOp transpose) {
            ArrayRef<int64_t> perm = transpose.getPerm();
            SmallVector<int64_t> inverse(perm.size());
            for (auto [i, p] : llvm::enumerate(perm))
              inverse[p] = static_cast<int64_t>(i);
            grads[0] = TransposeOp::create(e.b, e.loc, dy, inverse);
            return success();
          })
          .Case([&](SliceOp slice) {
            grads[0] = SliceGradOp::create(
                e.b, e.loc, slice.getInput().getType(), dy, slice.getAxis(),
                slice.getStart(), slice.getEnd(), slice.getStep());
            return success();
          })
          .Case([&](ConcatOp concat) {
            uint64_t axis = concat.getAxis(), offset = 0;
            for (auto [i, input] : llvm::enumerate(concat.getInputs())) {
              uint64_t size = typeOf(input).getDimSize(axis);
              if (need(i))
                grads[i] = SliceOp::create(e.b, e.loc, dy, axis, offset,
                                           offset + size, /*step=*/1);
              offset += size;
            }
            return success();
          })
          .Case([&](GatherOp gather) {
            if (need(0))
              grads[0] = GatherGradOp::create(
                  e.b, e.loc, gather.getData().getType(), gather.getIndices(),
                  dy, gather.getAxis());
            return success();
          })
          .Case([&](BroadcastToOp broadcast) {
            grads[0] = e.sumTo(dy, broadcast.getInput());
            return success();
          })
          .Case([&](ReduceSumOp reduce) { // grad expanded
            grads[0] = e.unreduce(dy, reduce.getInput(), reduce.getAxes());
            return success();
          })
          .Case([&](ReduceMeanOp reduce) { // grad expanded / N
            auto in = typeOf(reduce.getInput());
            int64_t count = 1;
            for (int64_t axis : reduce.getAxes())
              count *= in.getDimSize(axis);
            Value scaled = e.div(dy, e.scalar(dy, static_cast<double>(count)));
            grads[0] = e.unreduce(scaled, reduce.getInput(), reduce.getAxes());
            return success();
          })
          .Case([&](ReduceMaxOp) {
            return e.unsupported(
                "reduce_max has no gradient rule (unsupported: the gradient "
                "of a maximum with ties is not implemented)");
          })
          .Case([&](SoftmaxOp softmax) {
            grads[0] = SoftmaxGradOp::create(e.b, e.loc, softmax.getResult(),
                                             dy, softmax.getAxis());
            return success();
          })
          .Case([&](RmsNormOp norm) {
            auto grad = RmsNormGradOp::create(e.b, e.loc, norm.getInput(),
                                              norm.getWeight(), dy,
                                              norm.getEpsAttr());
            if (need(0)) grads[0] = grad.getGradInput();
            if (need(1)) grads[1] = grad.getGradWeight();
            return success();
          })
          .Case([&](RopeOp rope) -> LogicalResult {
            if (need(1) || need(2))
              return e.unsupported(
                  "no gradient for the cos/sin tables (they must not depend "
                  "on a trainable param)");
            grads[0] = RopeGradOp::create(e.b, e.loc, dy, rope.getCos(),
                                          rope.getSin());
            return success();
          })
          .Case([&](AttentionOp attention) {
            auto grad = AttentionGradOp::create(
                e.b, e.loc, attention.getQuery(), attention.getKey(),
                attention.getValue(), dy, attention.getCausalAttr(),
                attention.getScaleAttr());
            for (unsigned i = 0; i < 3; ++i)
              if (need(i))
                grads[i] = grad->getResult(i);
            return success();
          })
          .Case([&](SwigluOp swiglu) {
            auto grad = SwigluGradOp::create(
                e.b, e.loc, swiglu.getGate().getType(),
                swiglu.getGate().getType(), swiglu.getGate(), swiglu.getUp(),
                dy);
            if (need(0)) grads[0] = grad.getGradGate();
            if (need(1)) grads[1] = grad.getGradUp();
            return success();
          })
          .Case([&](EmbeddingOp embedding) {
            if (need(0))
              grads[0] = EmbeddingGradOp::create(
                  e.b, e.loc, embedding.getIds(), dy,
                  typeOf(embedding.getTable()).getDimSize(0));
            return success();
          })
          .Case([&](CrossEntropyOp ce) {
            if (need(0))
              grads[0] = CrossEntropyGradOp::create(e.b, e.loc, ce.getLogits(),
                                                    ce.getTargets(), dy);
            return success();
          })
          .Default([&](Operation *) {
            return e.unsupported("the op has no gradient rule");
          });
  if (failed(result))
    return failure();
  return grads;
}
