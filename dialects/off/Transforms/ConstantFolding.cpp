//===- ConstantFolding.cpp - evaluate off ops on known operands -----------===//
//
// Each rule mirrors the op's definition in OffOps.td. Integer division
// truncates towards zero (as ONNX and C); float results are rounded to the
// element type after each op.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/ConstantFolding.h"

#include "dialects/off/IR/OffDialect.h"

#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::off;

namespace {

FoldOutcome folded(HostTensor value) {
  FoldOutcome outcome;
  outcome.kind = FoldOutcome::Folded;
  outcome.value = std::move(value);
  return outcome;
}

FoldOutcome notFoldable() { return FoldOutcome(); }

FoldOutcome invalid(std::string message) {
  FoldOutcome outcome;
  outcome.kind = FoldOutcome::Invalid;
  outcome.error = std::move(message);
  return outcome;
}

/// Calls `body(flat, index)` for every element of `shape` in row-major order.
void forEachIndex(ArrayRef<int64_t> shape,
                  llvm::function_ref<void(int64_t, ArrayRef<int64_t>)> body) {
  int64_t total = 1;
  for (int64_t d : shape)
    total *= d;
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    body(flat, index);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
}

enum class BinaryKind { Add, Sub, Mul, Div };

FoldOutcome foldBinary(BinaryKind kind, const HostTensor &lhs,
                       const HostTensor &rhs, RankedTensorType resultType) {
  HostTensor out(resultType);
  bool divByZero = false;
  forEachBroadcast(out.getShape(), {lhs.getShape(), rhs.getShape()},
                   [&](int64_t i, ArrayRef<int64_t> at) {
    if (out.isFloat()) {
      double a = lhs.getFloat(at[0]), b = rhs.getFloat(at[1]);
      double r = kind == BinaryKind::Add   ? a + b
                 : kind == BinaryKind::Sub ? a - b
                 : kind == BinaryKind::Mul ? a * b
                                           : a / b;
      out.setFloat(i, r);
      return;
    }
    int64_t a = lhs.getInt(at[0]), b = rhs.getInt(at[1]);
    if (kind == BinaryKind::Div && b == 0) {
      divByZero = true;
      return;
    }
    // Unsigned arithmetic wraps instead of overflowing; the result is then
    // wrapped to the element width.
    uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
    int64_t r = kind == BinaryKind::Add   ? static_cast<int64_t>(ua + ub)
                : kind == BinaryKind::Sub ? static_cast<int64_t>(ua - ub)
                : kind == BinaryKind::Mul ? static_cast<int64_t>(ua * ub)
                : (a == std::numeric_limits<int64_t>::min() && b == -1)
                    ? a
                    : a / b;
    out.setInt(i, r);
  });
  if (divByZero)
    return invalid("integer division by zero");
  return folded(std::move(out));
}

FoldOutcome foldUnary(Operation *op, const HostTensor &in) {
  HostTensor out(cast<RankedTensorType>(op->getResult(0).getType()));
  auto apply = [&](auto fn) {
    for (int64_t i = 0; i < in.size(); ++i)
      out.setFloat(i, fn(in.getFloat(i)));
    return folded(std::move(out));
  };
  return llvm::TypeSwitch<Operation *, FoldOutcome>(op)
      .Case<NegOp>([&](auto) { return apply([](double x) { return -x; }); })
      .Case<ExpOp>([&](auto) { return apply([](double x) { return std::exp(x); }); })
      .Case<SqrtOp>([&](auto) { return apply([](double x) { return std::sqrt(x); }); })
      .Case<RsqrtOp>(
          [&](auto) { return apply([](double x) { return 1.0 / std::sqrt(x); }); })
      .Case<SigmoidOp>([&](auto) {
        return apply([](double x) { return 1.0 / (1.0 + std::exp(-x)); });
      })
      .Case<SiluOp>([&](auto) {
        return apply([](double x) { return x / (1.0 + std::exp(-x)); });
      })
      .Default([](Operation *) { return notFoldable(); });
}

FoldOutcome foldCast(const HostTensor &in, RankedTensorType resultType) {
  HostTensor out(resultType);
  for (int64_t i = 0; i < in.size(); ++i) {
    if (in.isFloat() && !out.isFloat() &&
        cast<IntegerType>(out.getElementType()).getWidth() == 1)
      out.setInt(i, in.getFloat(i) != 0.0 ? 1 : 0);
    else if (in.isFloat())
      out.setFloat(i, in.getFloat(i));
    else
      out.setInt(i, in.getInt(i));
  }
  return folded(std::move(out));
}

FoldOutcome foldBroadcast(const HostTensor &in, RankedTensorType resultType) {
  HostTensor out(resultType);
  forEachBroadcast(out.getShape(), {in.getShape()},
                   [&](int64_t i, ArrayRef<int64_t> at) {
    if (out.isFloat())
      out.setFloat(i, in.getFloat(at[0]));
    else
      out.setInt(i, in.getInt(at[0]));
  });
  return folded(std::move(out));
}

void copyElement(HostTensor &out, int64_t to, const HostTensor &in, int64_t from) {
  if (out.isFloat())
    out.setFloat(to, in.getFloat(from));
  else
    out.setInt(to, in.getInt(from));
}

FoldOutcome foldTranspose(TransposeOp op, const HostTensor &in) {
  HostTensor out(op.getType());
  ArrayRef<int64_t> perm = op.getPerm();
  SmallVector<int64_t> inStrides = HostTensor::stridesOf(in.getShape());
  forEachIndex(out.getShape(), [&](int64_t flat, ArrayRef<int64_t> index) {
    int64_t from = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      from += index[d] * inStrides[perm[d]];
    copyElement(out, flat, in, from);
  });
  return folded(std::move(out));
}

FoldOutcome foldSlice(SliceOp op, const HostTensor &in) {
  HostTensor out(op.getType());
  int64_t axis = op.getAxis(), start = op.getStart(), step = op.getStep();
  SmallVector<int64_t> inStrides = HostTensor::stridesOf(in.getShape());
  forEachIndex(out.getShape(), [&](int64_t flat, ArrayRef<int64_t> index) {
    int64_t from = 0;
    for (size_t d = 0; d < index.size(); ++d) {
      int64_t i = static_cast<int64_t>(d) == axis ? start + index[d] * step : index[d];
      from += i * inStrides[d];
    }
    copyElement(out, flat, in, from);
  });
  return folded(std::move(out));
}

FoldOutcome foldConcat(ConcatOp op, ArrayRef<const HostTensor *> inputs) {
  HostTensor out(op.getType());
  int64_t axis = op.getAxis();
  SmallVector<int64_t> outStrides = HostTensor::stridesOf(out.getShape());
  int64_t base = 0;
  for (const HostTensor *in : inputs) {
    forEachIndex(in->getShape(), [&](int64_t flat, ArrayRef<int64_t> index) {
      int64_t to = 0;
      for (size_t d = 0; d < index.size(); ++d)
        to += (index[d] + (static_cast<int64_t>(d) == axis ? base : 0)) * outStrides[d];
      copyElement(out, to, *in, flat);
    });
    base += in->getShape()[axis];
  }
  return folded(std::move(out));
}

FoldOutcome foldGather(GatherOp op, const HostTensor &data,
                       const HostTensor &indices) {
  HostTensor out(op.getType());
  int64_t axis = op.getAxis();
  ArrayRef<int64_t> shape = data.getShape();
  int64_t outer = 1, inner = 1, extent = shape[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < data.getRank(); ++d)
    inner *= shape[d];
  int64_t count = indices.size();
  for (int64_t j = 0; j < count; ++j) {
    int64_t index = indices.getInt(j);
    if (index < -extent || index >= extent)
      return invalid("gather index " + std::to_string(index) +
                     " is out of range for a dimension of size " +
                     std::to_string(extent));
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < count; ++j) {
      int64_t index = indices.getInt(j);
      if (index < 0)
        index += extent;
      for (int64_t k = 0; k < inner; ++k)
        copyElement(out, (o * count + j) * inner + k, data,
                    (o * extent + index) * inner + k);
    }
  return folded(std::move(out));
}

enum class ReduceKind { Sum, Mean, Max };

FoldOutcome foldReduce(ReduceKind kind, Operation *op, ArrayRef<int64_t> axes,
                       const HostTensor &in) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  llvm::SmallSet<int64_t, 4> reduced(axes.begin(), axes.end());
  // Output flat index of an input element: its index with reduced dims dropped.
  SmallVector<int64_t> keptShape;
  for (int64_t d = 0; d < in.getRank(); ++d)
    keptShape.push_back(reduced.contains(d) ? 1 : in.getShape()[d]);
  SmallVector<int64_t> keptStrides = HostTensor::stridesOf(keptShape);
  int64_t outSize = resultType.getNumElements();
  std::vector<double> acc(outSize, kind == ReduceKind::Max
                                       ? -std::numeric_limits<double>::infinity()
                                       : 0.0);
  int64_t count = outSize == 0 ? 0 : in.size() / outSize;
  forEachIndex(in.getShape(), [&](int64_t flat, ArrayRef<int64_t> index) {
    int64_t to = 0;
    for (size_t d = 0; d < index.size(); ++d)
      if (!reduced.contains(static_cast<int64_t>(d)))
        to += index[d] * keptStrides[d];
    double v = in.getFloat(flat);
    acc[to] = kind == ReduceKind::Max ? std::max(acc[to], v) : acc[to] + v;
  });
  HostTensor out(resultType);
  for (int64_t i = 0; i < outSize; ++i)
    out.setFloat(i, kind == ReduceKind::Mean ? acc[i] / static_cast<double>(count)
                                             : acc[i]);
  return folded(std::move(out));
}

FoldOutcome foldSoftmax(SoftmaxOp op, const HostTensor &in) {
  HostTensor out(op.getType());
  ArrayRef<int64_t> shape = in.getShape();
  int64_t axis = op.getAxis();
  int64_t extent = shape[axis], inner = 1;
  for (int64_t d = axis + 1; d < in.getRank(); ++d)
    inner *= shape[d];
  int64_t outer = in.size() / std::max<int64_t>(1, extent * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      auto at = [&](int64_t j) { return (o * extent + j) * inner + k; };
      double maxValue = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < extent; ++j)
        maxValue = std::max(maxValue, in.getFloat(at(j)));
      double sum = 0.0;
      for (int64_t j = 0; j < extent; ++j)
        sum += std::exp(in.getFloat(at(j)) - maxValue);
      for (int64_t j = 0; j < extent; ++j)
        out.setFloat(at(j), std::exp(in.getFloat(at(j)) - maxValue) / sum);
    }
  return folded(std::move(out));
}

FoldOutcome foldMatmul(MatmulOp op, const HostTensor &lhs, const HostTensor &rhs,
                       int64_t maxElements) {
  RankedTensorType resultType = op.getType();
  ArrayRef<int64_t> outShape = resultType.getShape();
  int64_t rank = resultType.getRank();
  int64_t m = outShape[rank - 2], n = outShape[rank - 1];
  int64_t lr = lhs.getRank();
  int64_t k = lhs.getShape()[lr - (op.getTransposeLhs() ? 2 : 1)];
  if (resultType.getNumElements() * k > maxElements * 64)
    return notFoldable();
  // Element (i, j) of each operand's matrix, honouring the transpose flags.
  int64_t lhsRowStride = op.getTransposeLhs() ? 1 : k;
  int64_t lhsColStride = op.getTransposeLhs() ? m : 1;
  int64_t rhsRowStride = op.getTransposeRhs() ? 1 : n;
  int64_t rhsColStride = op.getTransposeRhs() ? k : 1;
  HostTensor out(resultType);
  ArrayRef<int64_t> batch = outShape.drop_back(2);
  forEachBroadcast(batch, {lhs.getShape().drop_back(2), rhs.getShape().drop_back(2)},
                   [&](int64_t b, ArrayRef<int64_t> at) {
    int64_t lhsBase = at[0] * m * k, rhsBase = at[1] * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t p = 0; p < k; ++p)
          sum += lhs.getFloat(lhsBase + i * lhsRowStride + p * lhsColStride) *
                 rhs.getFloat(rhsBase + p * rhsRowStride + j * rhsColStride);
        out.setFloat((b * m + i) * n + j, sum);
      }
  });
  return folded(std::move(out));
}

} // namespace

FoldOutcome mlir::off::evaluateOffOp(Operation *op,
                                     ArrayRef<const HostTensor *> operands,
                                     int64_t maxElements) {
  if (op->getNumResults() != 1 || !isa<OffDialect>(op->getDialect()))
    return notFoldable();
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultType || !resultType.hasStaticShape() ||
      resultType.getNumElements() > maxElements ||
      !isa<FloatType, IntegerType>(resultType.getElementType()))
    return notFoldable();
  for (const HostTensor *operand : operands)
    if (!operand)
      return notFoldable();
  auto arg = [&](unsigned i) -> const HostTensor & { return *operands[i]; };
  return llvm::TypeSwitch<Operation *, FoldOutcome>(op)
      .Case<ConstantOp>([&](ConstantOp constant) {
        auto value = HostTensor::fromAttr(constant.getValue());
        return value ? folded(std::move(*value)) : notFoldable();
      })
      .Case<AddOp>([&](auto) {
        return foldBinary(BinaryKind::Add, arg(0), arg(1), resultType);
      })
      .Case<SubOp>([&](auto) {
        return foldBinary(BinaryKind::Sub, arg(0), arg(1), resultType);
      })
      .Case<MulOp>([&](auto) {
        return foldBinary(BinaryKind::Mul, arg(0), arg(1), resultType);
      })
      .Case<DivOp>([&](auto) {
        return foldBinary(BinaryKind::Div, arg(0), arg(1), resultType);
      })
      .Case<NegOp, ExpOp, SqrtOp, RsqrtOp, SigmoidOp, SiluOp>(
          [&](Operation *unary) { return foldUnary(unary, arg(0)); })
      .Case<CastOp>([&](auto) { return foldCast(arg(0), resultType); })
      .Case<ReshapeOp>(
          [&](auto) { return folded(arg(0).reshaped(resultType.getShape())); })
      .Case<BroadcastToOp>([&](auto) { return foldBroadcast(arg(0), resultType); })
      .Case<TransposeOp>([&](TransposeOp t) { return foldTranspose(t, arg(0)); })
      .Case<SliceOp>([&](SliceOp s) { return foldSlice(s, arg(0)); })
      .Case<ConcatOp>([&](ConcatOp c) { return foldConcat(c, operands); })
      .Case<GatherOp>([&](GatherOp g) { return foldGather(g, arg(0), arg(1)); })
      .Case<ReduceSumOp>([&](ReduceSumOp r) {
        return foldReduce(ReduceKind::Sum, op, r.getAxes(), arg(0));
      })
      .Case<ReduceMeanOp>([&](ReduceMeanOp r) {
        return foldReduce(ReduceKind::Mean, op, r.getAxes(), arg(0));
      })
      .Case<ReduceMaxOp>([&](ReduceMaxOp r) {
        return foldReduce(ReduceKind::Max, op, r.getAxes(), arg(0));
      })
      .Case<SoftmaxOp>([&](SoftmaxOp s) { return foldSoftmax(s, arg(0)); })
      .Case<MatmulOp>([&](MatmulOp mm) {
        return foldMatmul(mm, arg(0), arg(1), maxElements);
      })
      .Default([](Operation *) { return notFoldable(); });
}

// Iterative post-order walk: value chains through a whole model are long, and
// each value is evaluated at most once.
const HostTensor *ConstantEvaluator::valueOf(Value root) {
  if (auto found = cache.find(root); found != cache.end())
    return found->second.get();
  SmallVector<std::pair<Value, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [value, expanded] = stack.back();
    if (cache.count(value)) {
      stack.pop_back();
      continue;
    }
    Operation *op = value.getDefiningOp();
    if (!op || !isa<OffDialect>(op->getDialect()) || isa<ParamOp>(op) ||
        op->getNumResults() != 1) {
      cache[value] = nullptr;
      stack.pop_back();
      continue;
    }
    if (!expanded) {
      stack.back().second = true;
      for (Value operand : op->getOperands())
        if (!cache.count(operand))
          stack.push_back({operand, false});
      continue;
    }
    stack.pop_back();
    SmallVector<const HostTensor *> operands;
    bool allKnown = true;
    for (Value operand : op->getOperands()) {
      operands.push_back(cache.lookup(operand).get());
      allKnown &= operands.back() != nullptr;
    }
    std::shared_ptr<HostTensor> result;
    if (allKnown) {
      FoldOutcome outcome = evaluateOffOp(op, operands, maxElements);
      if (outcome.kind == FoldOutcome::Folded)
        result = std::make_shared<HostTensor>(std::move(outcome.value));
      else if (outcome.kind == FoldOutcome::Invalid && !errorOp) {
        error = outcome.error;
        errorOp = op;
      }
    }
    cache[value] = result;
  }
  return cache.lookup(root).get();
}
