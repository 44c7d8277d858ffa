//===- OnnxOpsElementwise.cpp - arithmetic, matmul, reductions, softmax ---===//
//
// ONNX ops with an off equivalent that compute on element values. Each emits
// the off op also when its inputs are constants: off-fold-shapes folds those.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"
#include "dialects/off/IR/ShapeRules.h"

#include <cmath>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

namespace {

/// A rank-0 constant of `element` type.
Value scalarConstant(NodeContext &ctx, Type element, double value) {
  auto type = RankedTensorType::get({}, element);
  HostTensor tensor(type);
  tensor.setFloat(0, value);
  return ConstantOp::create(ctx.builder(), ctx.loc(), tensor.toAttr());
}

template <typename OpTy>
LogicalResult binary(NodeContext &ctx) {
  Value lhs = ctx.input(0), rhs = ctx.input(1);
  if (ctx.inputType(0).getElementType() != ctx.inputType(1).getElementType())
    return ctx.fail("operands have different element types");
  SmallVector<Type> inferred;
  if (failed(OpTy::inferReturnTypes(ctx.context(), std::nullopt, ValueRange{lhs, rhs},
                                    nullptr, nullptr, {}, inferred)))
    return ctx.fail("operand shapes do not broadcast");
  ctx.setOutput(0, OpTy::create(ctx.builder(), ctx.loc(), lhs, rhs));
  return success();
}

LogicalResult requireFloat(NodeContext &ctx, unsigned i) {
  if (!isa<FloatType>(ctx.inputType(i).getElementType()))
    return ctx.fail("input '" + ctx.proto().input(i) + "' must be floating point");
  return success();
}

template <typename OpTy>
LogicalResult unary(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)))
    return failure();
  ctx.setOutput(0, OpTy::create(ctx.builder(), ctx.loc(), ctx.input(0)));
  return success();
}

LogicalResult reciprocal(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)))
    return failure();
  Value x = ctx.input(0);
  Value one = scalarConstant(ctx, ctx.inputType(0).getElementType(), 1.0);
  ctx.setOutput(0, DivOp::create(ctx.builder(), ctx.loc(), one, x));
  return success();
}

/// x ** y with a scalar constant exponent: x*x, sqrt, rsqrt, 1/x, x. Other
/// exponents are evaluated when x is a constant too.
LogicalResult pow(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)))
    return failure();
  const HostTensor *exponent = ctx.constantInput(1);
  Value x = ctx.input(0);
  if (exponent && exponent->size() == 1) {
    double e = exponent->getFloat(0);
    OpBuilder &b = ctx.builder();
    Value result;
    if (e == 2.0)
      result = MulOp::create(b, ctx.loc(), x, x);
    else if (e == 1.0)
      result = x;
    else if (e == 0.5)
      result = SqrtOp::create(b, ctx.loc(), x);
    else if (e == -0.5)
      result = RsqrtOp::create(b, ctx.loc(), x);
    else if (e == -1.0)
      result = DivOp::create(b, ctx.loc(),
                             scalarConstant(ctx, ctx.inputType(0).getElementType(), 1.0), x);
    if (result && cast<RankedTensorType>(result.getType()).getRank() >=
                      exponent->getRank()) {
      ctx.setOutput(0, result);
      return success();
    }
  }
  const HostTensor *base = ctx.constantInput(0);
  if (!base || !exponent)
    return ctx.fail("Pow of a computed value needs a scalar constant exponent of 2, "
                    "1, 0.5, -0.5 or -1");
  SmallVector<int64_t> shape;
  if (!broadcastShapes(base->getShape(), exponent->getShape(), shape))
    return ctx.fail("operand shapes do not broadcast");
  HostTensor out(RankedTensorType::get(shape, base->getElementType()));
  forEachBroadcast(shape, {base->getShape(), exponent->getShape()},
                   [&](int64_t i, ArrayRef<int64_t> at) {
    out.setFloat(i, std::pow(base->getFloat(at[0]), exponent->getFloat(at[1])));
  });
  ctx.setConstantOutput(0, out);
  return success();
}

LogicalResult identity(NodeContext &ctx) {
  ctx.setOutput(0, ctx.input(0));
  return success();
}

LogicalResult castOp(NodeContext &ctx) {
  int64_t to = ctx.intAttr("to", 0);
  Type element = elementTypeOf(static_cast<int32_t>(to), *ctx.context());
  if (!element)
    return ctx.fail("casts to " + onnxTypeName(static_cast<int32_t>(to)) +
                    ", which off does not support");
  RankedTensorType in = ctx.inputType(0);
  if (in.getElementType() == element) {
    ctx.setOutput(0, ctx.input(0));
    return success();
  }
  auto type = RankedTensorType::get(in.getShape(), element);
  ctx.setOutput(0, CastOp::create(ctx.builder(), ctx.loc(), type, ctx.input(0)));
  return success();
}

LogicalResult softmax(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)))
    return failure();
  auto axis = ctx.axis(ctx.intAttr("axis", -1), ctx.inputType(0).getRank());
  if (failed(axis))
    return failure();
  ctx.setOutput(0, SoftmaxOp::create(ctx.builder(), ctx.loc(), ctx.input(0), *axis));
  return success();
}

/// ReduceMean / ReduceSum / ReduceMax: axes from the input (ReduceSum since
/// opset 13, the others since 18) or the attribute before that.
template <typename OpTy>
LogicalResult reduce(NodeContext &ctx, int64_t axesInputSince) {
  if (failed(requireFloat(ctx, 0)))
    return failure();
  int64_t rank = ctx.inputType(0).getRank();
  SmallVector<int64_t> axes;
  if (ctx.opset() >= axesInputSince) {
    if (ctx.hasInput(1)) {
      auto given = ctx.intsInput(1, "axes");
      if (failed(given))
        return failure();
      axes = *given;
    }
  } else if (auto given = ctx.intsAttr("axes")) {
    axes = *given;
  }
  if (axes.empty()) {
    if (ctx.intAttr("noop_with_empty_axes", 0)) {
      ctx.setOutput(0, ctx.input(0));
      return success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  for (int64_t &a : axes) {
    auto normalized = ctx.axis(a, rank);
    if (failed(normalized))
      return failure();
    a = *normalized;
  }
  llvm::sort(axes);
  bool keepdims = ctx.intAttr("keepdims", 1) != 0;
  ctx.setOutput(0, OpTy::create(ctx.builder(), ctx.loc(), ctx.input(0), axes, keepdims));
  return success();
}

/// NumPy matmul; rank-1 operands are promoted to matrices and back.
LogicalResult matmul(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)) || failed(requireFloat(ctx, 1)))
    return failure();
  OpBuilder &b = ctx.builder();
  Value lhs = ctx.input(0), rhs = ctx.input(1);
  RankedTensorType lt = ctx.inputType(0), rt = ctx.inputType(1);
  if (lt.getRank() == 0 || rt.getRank() == 0)
    return ctx.fail("MatMul operands must have rank >= 1");
  bool vectorLhs = lt.getRank() == 1, vectorRhs = rt.getRank() == 1;
  if (vectorLhs)
    lhs = ReshapeOp::create(b, ctx.loc(),
                            RankedTensorType::get({1, lt.getDimSize(0)}, lt.getElementType()),
                            lhs);
  if (vectorRhs)
    rhs = ReshapeOp::create(b, ctx.loc(),
                            RankedTensorType::get({rt.getDimSize(0), 1}, rt.getElementType()),
                            rhs);
  SmallVector<Type> inferred;
  MatmulOp::Properties props;
  props.transpose_lhs = b.getBoolAttr(false);
  props.transpose_rhs = b.getBoolAttr(false);
  if (failed(MatmulOp::inferReturnTypes(ctx.context(), std::nullopt, ValueRange{lhs, rhs},
                                        nullptr, &props, {}, inferred)))
    return ctx.fail("MatMul shapes " + llvm::Twine(lt.getRank()) + "-d and " +
                    llvm::Twine(rt.getRank()) + "-d do not multiply");
  Value result = MatmulOp::create(b, ctx.loc(), lhs, rhs, false, false);
  if (vectorLhs || vectorRhs) {
    auto type = cast<RankedTensorType>(result.getType());
    SmallVector<int64_t> shape(type.getShape());
    if (vectorRhs)
      shape.erase(shape.end() - 1);
    if (vectorLhs)
      shape.erase(shape.end() - (vectorRhs ? 1 : 2));
    result = ReshapeOp::create(b, ctx.loc(),
                               RankedTensorType::get(shape, type.getElementType()), result);
  }
  ctx.setOutput(0, result);
  return success();
}

/// alpha * op(A) op(B) + beta * C.
LogicalResult gemm(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)) || failed(requireFloat(ctx, 1)))
    return failure();
  if (ctx.inputType(0).getRank() != 2 || ctx.inputType(1).getRank() != 2)
    return ctx.fail("Gemm operands must be matrices");
  OpBuilder &b = ctx.builder();
  bool ta = ctx.intAttr("transA", 0) != 0, tb = ctx.intAttr("transB", 0) != 0;
  int64_t ka = ctx.inputType(0).getDimSize(ta ? 0 : 1);
  int64_t kb = ctx.inputType(1).getDimSize(tb ? 1 : 0);
  if (ka != kb)
    return ctx.fail("Gemm contraction dimensions differ");
  Value result = MatmulOp::create(b, ctx.loc(), ctx.input(0), ctx.input(1), ta, tb);
  Type element = ctx.inputType(0).getElementType();
  float alpha = ctx.floatAttr("alpha", 1.0f), beta = ctx.floatAttr("beta", 1.0f);
  if (alpha != 1.0f)
    result = MulOp::create(b, ctx.loc(), result, scalarConstant(ctx, element, alpha));
  if (ctx.hasInput(2) && beta != 0.0f) {
    Value c = ctx.input(2);
    if (beta != 1.0f)
      c = MulOp::create(b, ctx.loc(), c, scalarConstant(ctx, element, beta));
    SmallVector<int64_t> shape;
    auto rt = cast<RankedTensorType>(result.getType());
    if (!broadcastShapes(rt.getShape(), cast<RankedTensorType>(c.getType()).getShape(),
                         shape) ||
        ArrayRef<int64_t>(shape) != rt.getShape())
      return ctx.fail("Gemm's C does not broadcast to the product");
    result = AddOp::create(b, ctx.loc(), result, c);
  }
  ctx.setOutput(0, result);
  return success();
}

} // namespace

void onnx_import::addElementwiseHandlers(llvm::StringMap<OpHandler> &handlers) {
  handlers["Add"] = binary<AddOp>;
  handlers["Sub"] = binary<SubOp>;
  handlers["Mul"] = binary<MulOp>;
  handlers["Div"] = binary<DivOp>;
  handlers["Neg"] = unary<NegOp>;
  handlers["Sqrt"] = unary<SqrtOp>;
  handlers["Exp"] = unary<ExpOp>;
  handlers["Sigmoid"] = unary<SigmoidOp>;
  handlers["Reciprocal"] = reciprocal;
  handlers["Pow"] = pow;
  handlers["Identity"] = identity;
  handlers["Cast"] = castOp;
  handlers["Softmax"] = softmax;
  handlers["ReduceMean"] = [](NodeContext &ctx) { return reduce<ReduceMeanOp>(ctx, 18); };
  handlers["ReduceSum"] = [](NodeContext &ctx) { return reduce<ReduceSumOp>(ctx, 13); };
  handlers["ReduceMax"] = [](NodeContext &ctx) { return reduce<ReduceMaxOp>(ctx, 18); };
  handlers["MatMul"] = matmul;
  handlers["Gemm"] = gemm;
}
