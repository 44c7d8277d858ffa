//===- OnnxOpsConstant.cpp - ONNX ops evaluated while importing -----------===//
//
// Ops that off has no equivalent for: comparisons and logic (masks), Range,
// CumSum, GatherND (position ids; `table[ids]` becomes off.gather), Cos and Sin (rotary tables), Trilu, Where,
// IsNaN, Max, Min, ... Their inputs must be constants once shapes are static;
// they are computed here and become off.constant. One exception: the guard
// Where(IsNaN(p), 0, p) that exporters add after attention's softmax, which
// is the identity whenever no row of the mask is fully masked (checked).
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"
#include "dialects/off/IR/ShapeRules.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

namespace {

LogicalResult constant(NodeContext &ctx) {
  MLIRContext *context = ctx.context();
  auto scalars = [&](Type element, ArrayRef<double> values, bool vector) {
    SmallVector<int64_t> shape;
    if (vector)
      shape.push_back(values.size());
    HostTensor out(RankedTensorType::get(shape, element));
    for (size_t i = 0; i < values.size(); ++i)
      out.setFloat(i, values[i]);
    ctx.setConstantOutput(0, out);
    return success();
  };
  Type f32 = Float32Type::get(context), i64 = IntegerType::get(context, 64);
  if (ctx.attribute("value")) {
    auto value = ctx.tensorAttr("value");
    if (failed(value))
      return failure();
    ctx.setConstantOutput(0, *value);
    return success();
  }
  if (const auto *attr = ctx.attribute("value_float"))
    return scalars(f32, {attr->f()}, false);
  if (const auto *attr = ctx.attribute("value_int"))
    return scalars(i64, {static_cast<double>(attr->i())}, false);
  if (const auto *attr = ctx.attribute("value_floats"))
    return scalars(f32, SmallVector<double>(attr->floats().begin(), attr->floats().end()),
                   true);
  if (const auto *attr = ctx.attribute("value_ints")) {
    SmallVector<int64_t> values(attr->ints().begin(), attr->ints().end());
    HostTensor out(RankedTensorType::get({static_cast<int64_t>(values.size())}, i64));
    for (size_t i = 0; i < values.size(); ++i)
      out.setInt(i, values[i]);
    ctx.setConstantOutput(0, out);
    return success();
  }
  return ctx.fail("only tensor, float and int constants are supported");
}

/// Applies `fn` element-wise over the broadcast of all inputs.
template <typename Fn>
LogicalResult elementwise(NodeContext &ctx, Type resultElement, Fn fn) {
  if (failed(ctx.requireConstantInputs()))
    return failure();
  SmallVector<const HostTensor *> inputs;
  SmallVector<ArrayRef<int64_t>> shapes;
  SmallVector<int64_t> shape;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i))
      continue;
    inputs.push_back(ctx.constantInput(i));
    shapes.push_back(inputs.back()->getShape());
    SmallVector<int64_t> next;
    if (!broadcastShapes(shape, shapes.back(), next))
      return ctx.fail("input shapes do not broadcast");
    shape = next;
  }
  if (!resultElement)
    resultElement = inputs.front()->getElementType();
  HostTensor out(RankedTensorType::get(shape, resultElement));
  forEachBroadcast(shape, shapes, [&](int64_t i, ArrayRef<int64_t> at) {
    fn(out, i, inputs, at);
  });
  ctx.setConstantOutput(0, out);
  return success();
}

using Inputs = ArrayRef<const HostTensor *>;

template <typename Compare>
LogicalResult comparison(NodeContext &ctx, Compare compare) {
  return elementwise(ctx, IntegerType::get(ctx.context(), 1),
                     [&](HostTensor &out, int64_t i, Inputs in, ArrayRef<int64_t> at) {
    bool result = in[0]->isFloat() ? compare(in[0]->getFloat(at[0]), in[1]->getFloat(at[1]))
                                   : compare(in[0]->getInt(at[0]), in[1]->getInt(at[1]));
    out.setInt(i, result);
  });
}

template <typename Logic>
LogicalResult logic(NodeContext &ctx, Logic combine) {
  return elementwise(ctx, IntegerType::get(ctx.context(), 1),
                     [&](HostTensor &out, int64_t i, Inputs in, ArrayRef<int64_t> at) {
    bool a = in[0]->getInt(at[0]) != 0;
    bool b = in.size() > 1 ? in[1]->getInt(at[1]) != 0 : false;
    out.setInt(i, combine(a, b));
  });
}

template <typename Fn>
LogicalResult floatUnary(NodeContext &ctx, Fn fn) {
  return elementwise(ctx, nullptr,
                     [&](HostTensor &out, int64_t i, Inputs in, ArrayRef<int64_t> at) {
    if (in[0]->isFloat())
      out.setFloat(i, fn(in[0]->getFloat(at[0])));
    else
      out.setInt(i, static_cast<int64_t>(fn(static_cast<double>(in[0]->getInt(at[0])))));
  });
}

LogicalResult extremum(NodeContext &ctx, bool maximum) {
  return elementwise(ctx, nullptr,
                     [&](HostTensor &out, int64_t i, Inputs in, ArrayRef<int64_t> at) {
    if (out.isFloat()) {
      double best = in[0]->getFloat(at[0]);
      for (size_t k = 1; k < in.size(); ++k) {
        double v = in[k]->getFloat(at[k]);
        best = std::isnan(v) || std::isnan(best) ? std::nan("")
               : maximum                         ? std::max(best, v)
                                                 : std::min(best, v);
      }
      out.setFloat(i, best);
      return;
    }
    int64_t best = in[0]->getInt(at[0]);
    for (size_t k = 1; k < in.size(); ++k)
      best = maximum ? std::max(best, in[k]->getInt(at[k])) : std::min(best, in[k]->getInt(at[k]));
    out.setInt(i, best);
  });
}

/// True when some row of `mask` along its last axis is entirely -inf (or
/// NaN): softmax over such a row is NaN.
bool hasFullyMaskedRow(const HostTensor &mask) {
  if (mask.getRank() == 0)
    return std::isinf(mask.getFloat(0)) || std::isnan(mask.getFloat(0));
  int64_t width = mask.getShape().back();
  if (width == 0)
    return false;
  for (int64_t row = 0; row < mask.size() / width; ++row) {
    bool masked = true;
    for (int64_t j = 0; j < width && masked; ++j) {
      double v = mask.getFloat(row * width + j);
      masked = (std::isinf(v) && v < 0) || std::isnan(v);
    }
    if (masked)
      return true;
  }
  return false;
}

/// Where(IsNaN(p), 0, p) after a softmax whose additive mask leaves every row
/// something to attend to: p itself.
LogicalResult softmaxNanGuard(NodeContext &ctx, llvm::StringRef tested) {
  const HostTensor *zero = ctx.constantInput(1);
  bool zeros = zero != nullptr;
  for (int64_t i = 0; zero && i < zero->size(); ++i)
    zeros &= zero->getFloat(i) == 0.0;
  Value p = ctx.input(2);
  auto softmax = p ? p.getDefiningOp<SoftmaxOp>() : nullptr;
  if (!zeros || ctx.proto().input(2) != tested || !softmax ||
      static_cast<int64_t>(softmax.getAxis()) != softmax.getType().getRank() - 1)
    return ctx.fail("IsNaN of a computed value is supported only as the guard "
                    "Where(IsNaN(p), 0, p) after a softmax over the last axis");
  if (auto add = softmax.getInput().getDefiningOp<AddOp>()) {
    ConstantEvaluator evaluator(int64_t{1} << 26);
    for (Value operand : {add.getLhs(), add.getRhs()})
      if (const HostTensor *mask = evaluator.valueOf(operand);
          mask && hasFullyMaskedRow(*mask))
        return ctx.fail("the attention mask masks a whole row, so softmax is NaN "
                        "there and the guard is not the identity: not supported");
  }
  ctx.setOutput(0, p);
  return success();
}

/// Where(cond, x, fill) or Where(cond, fill, x) with a computed x, a
/// constant condition and a constant scalar fill of -inf or the float
/// minimum (PyTorch's `scores.masked_fill(mask, -inf)`): x + m, with m the
/// constant fill where x is not picked and 0 where it is. Exact for finite
/// x: x + (-inf) = -inf, and x + lowest rounds to lowest for |x| < 2^103.
LogicalResult maskFill(NodeContext &ctx, unsigned dataSlot) {
  const HostTensor *cond = ctx.constantInput(0);
  const HostTensor *fill = ctx.constantInput(3 - dataSlot);
  double value = fill && fill->isFloat() && fill->size() == 1 ? fill->getFloat(0) : 0.0;
  if (!cond || !fill || !(value <= -std::numeric_limits<float>::max()))
    return ctx.fail("off has no Where op: a Where of a computed value is taken only as "
                    "a mask fill, with a constant condition and a constant scalar "
                    "-inf (or the float minimum) as the other branch");
  RankedTensorType data = ctx.inputType(dataSlot);
  SmallVector<int64_t> shape;
  if (!broadcastShapes(cond->getShape(), fill->getShape(), shape))
    return ctx.fail("the condition and the fill do not broadcast");
  HostTensor mask(RankedTensorType::get(shape, data.getElementType()));
  forEachBroadcast(shape, {cond->getShape(), fill->getShape()},
                   [&](int64_t i, ArrayRef<int64_t> at) {
    bool picksData = (cond->getInt(at[0]) != 0) == (dataSlot == 1);
    mask.setFloat(i, picksData ? 0.0 : value);
  });
  Value additive = ConstantOp::create(ctx.builder(), ctx.loc(), mask.toAttr());
  ctx.setOutput(0, AddOp::create(ctx.builder(), ctx.loc(), ctx.input(dataSlot), additive));
  return success();
}

LogicalResult where(NodeContext &ctx) {
  if (llvm::StringRef tested = ctx.isNanSubject(0); !tested.empty())
    return softmaxNanGuard(ctx, tested);
  if (ctx.constantInput(0) && !ctx.constantInput(1) != !ctx.constantInput(2))
    return maskFill(ctx, ctx.constantInput(1) ? 2 : 1);
  if (failed(ctx.requireConstantInputs()))
    return failure();
  Type element = ctx.constantInput(1)->getElementType();
  return elementwise(ctx, element,
                     [](HostTensor &out, int64_t i, Inputs in, ArrayRef<int64_t> at) {
    const HostTensor *chosen = in[0]->getInt(at[0]) ? in[1] : in[2];
    int64_t from = in[0]->getInt(at[0]) ? at[1] : at[2];
    if (out.isFloat())
      out.setFloat(i, chosen->getFloat(from));
    else
      out.setInt(i, chosen->getInt(from));
  });
}

LogicalResult isNan(NodeContext &ctx) {
  if (!ctx.constantInput(0)) {
    ctx.deferIsNan();
    return success();
  }
  return elementwise(ctx, IntegerType::get(ctx.context(), 1),
                     [](HostTensor &out, int64_t i, Inputs in, ArrayRef<int64_t> at) {
    out.setInt(i, in[0]->isFloat() && std::isnan(in[0]->getFloat(at[0])));
  });
}

LogicalResult range(NodeContext &ctx) {
  if (failed(ctx.requireConstantInputs()))
    return failure();
  const HostTensor *start = ctx.constantInput(0), *limit = ctx.constantInput(1),
                   *delta = ctx.constantInput(2);
  if (start->size() != 1 || limit->size() != 1 || delta->size() != 1)
    return ctx.fail("start, limit and delta must be scalars");
  double s = start->getFloat(0), l = limit->getFloat(0), d = delta->getFloat(0);
  if (d == 0.0)
    return ctx.fail("delta is zero");
  int64_t count = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((l - s) / d)));
  HostTensor out(RankedTensorType::get({count}, start->getElementType()));
  for (int64_t i = 0; i < count; ++i) {
    if (out.isFloat())
      out.setFloat(i, s + static_cast<double>(i) * d);
    else
      out.setInt(i, start->getInt(0) + i * delta->getInt(0));
  }
  ctx.setConstantOutput(0, out);
  return success();
}

LogicalResult cumSum(NodeContext &ctx) {
  if (failed(ctx.requireConstantInputs()))
    return failure();
  const HostTensor &x = *ctx.constantInput(0);
  const HostTensor *axisValue = ctx.constantInput(1);
  if (axisValue->size() != 1)
    return ctx.fail("axis must be a scalar");
  auto axis = ctx.axis(axisValue->getInt(0), x.getRank());
  if (failed(axis))
    return failure();
  bool exclusive = ctx.intAttr("exclusive", 0), reverse = ctx.intAttr("reverse", 0);
  int64_t extent = x.getShape()[*axis], inner = 1;
  for (int64_t d = *axis + 1; d < x.getRank(); ++d)
    inner *= x.getShape()[d];
  int64_t outer = extent * inner != 0 ? x.size() / (extent * inner) : 0;
  HostTensor out(x.getType());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      double sumF = 0.0;
      int64_t sumI = 0;
      for (int64_t step = 0; step < extent; ++step) {
        int64_t j = reverse ? extent - 1 - step : step;
        int64_t at = (o * extent + j) * inner + k;
        if (exclusive) {
          x.isFloat() ? out.setFloat(at, sumF) : out.setInt(at, sumI);
        }
        sumF += x.getFloat(at);
        sumI += x.getInt(at);
        if (!exclusive) {
          x.isFloat() ? out.setFloat(at, sumF) : out.setInt(at, sumI);
        }
      }
    }
  ctx.setConstantOutput(0, out);
  return success();
}

LogicalResult gatherNd(NodeContext &ctx) {
  if (ctx.intAttr("batch_dims", 0) != 0)
    return ctx.fail("batch_dims other than 0 is not supported");
  RankedTensorType indicesType = ctx.inputType(1);
  if ((!ctx.constantInput(0) || !ctx.constantInput(1)) && indicesType.getRank() >= 1 &&
      indicesType.getShape().back() == 1) {
    // Rows of the data picked by [..., 1] index tuples: `table[ids]` in
    // PyTorch (a hand-written embedding). A gather on axis 0.
    Value indices = ReshapeOp::create(
        ctx.builder(), ctx.loc(),
        RankedTensorType::get(indicesType.getShape().drop_back(),
                              indicesType.getElementType()),
        ctx.input(1));
    ctx.setOutput(0, GatherOp::create(ctx.builder(), ctx.loc(), ctx.input(0), indices, 0));
    return success();
  }
  if (failed(ctx.requireConstantInputs()))
    return failure();
  const HostTensor &data = *ctx.constantInput(0), &indices = *ctx.constantInput(1);
  if (indices.getRank() < 1)
    return ctx.fail("indices must have rank >= 1");
  int64_t depth = indices.getShape().back();
  if (depth > data.getRank())
    return ctx.fail("index tuples are longer than the data's rank");
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  llvm::append_range(shape, data.getShape().drop_front(depth));
  HostTensor out(RankedTensorType::get(shape, data.getElementType()));
  SmallVector<int64_t> strides = HostTensor::stridesOf(data.getShape());
  int64_t slice = 1;
  for (int64_t d = depth; d < data.getRank(); ++d)
    slice *= data.getShape()[d];
  int64_t tuples = depth ? indices.size() / depth : 0;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t base = 0;
    for (int64_t d = 0; d < depth; ++d) {
      int64_t index = indices.getInt(t * depth + d), extent = data.getShape()[d];
      if (index < -extent || index >= extent)
        return ctx.fail("index " + llvm::Twine(index) + " out of range");
      base += (index < 0 ? index + extent : index) * strides[d];
    }
    for (int64_t k = 0; k < slice; ++k) {
      if (out.isFloat())
        out.setFloat(t * slice + k, data.getFloat(base + k));
      else
        out.setInt(t * slice + k, data.getInt(base + k));
    }
  }
  ctx.setConstantOutput(0, out);
  return success();
}

LogicalResult trilu(NodeContext &ctx) {
  if (failed(ctx.requireConstantInputs()))
    return failure();
  const HostTensor &x = *ctx.constantInput(0);
  if (x.getRank() < 2)
    return ctx.fail("input must have rank >= 2");
  int64_t k = ctx.hasInput(1) ? ctx.constantInput(1)->getInt(0) : 0;
  bool upper = ctx.intAttr("upper", 1) != 0;
  int64_t rows = x.getShape()[x.getRank() - 2], cols = x.getShape().back();
  HostTensor out(x.getType());
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t col = i % cols, row = (i / cols) % rows;
    bool keep = upper ? col - row >= k : col - row <= k;
    if (!keep)
      continue;
    if (x.isFloat())
      out.setFloat(i, x.getFloat(i));
    else
      out.setInt(i, x.getInt(i));
  }
  ctx.setConstantOutput(0, out);
  return success();
}

} // namespace

void onnx_import::addConstantHandlers(llvm::StringMap<OpHandler> &handlers) {
  handlers["Constant"] = constant;
  handlers["Range"] = range;
  handlers["Equal"] = [](NodeContext &ctx) {
    return comparison(ctx, [](auto a, auto b) { return a == b; });
  };
  handlers["Less"] = [](NodeContext &ctx) {
    return comparison(ctx, [](auto a, auto b) { return a < b; });
  };
  handlers["LessOrEqual"] = [](NodeContext &ctx) {
    return comparison(ctx, [](auto a, auto b) { return a <= b; });
  };
  handlers["Greater"] = [](NodeContext &ctx) {
    return comparison(ctx, [](auto a, auto b) { return a > b; });
  };
  handlers["GreaterOrEqual"] = [](NodeContext &ctx) {
    return comparison(ctx, [](auto a, auto b) { return a >= b; });
  };
  handlers["And"] = [](NodeContext &ctx) {
    return logic(ctx, [](bool a, bool b) { return a && b; });
  };
  handlers["Or"] = [](NodeContext &ctx) {
    return logic(ctx, [](bool a, bool b) { return a || b; });
  };
  handlers["Xor"] = [](NodeContext &ctx) {
    return logic(ctx, [](bool a, bool b) { return a != b; });
  };
  handlers["Not"] = [](NodeContext &ctx) {
    return logic(ctx, [](bool a, bool) { return !a; });
  };
  handlers["Where"] = where;
  handlers["IsNaN"] = isNan;
  handlers["CumSum"] = cumSum;
  handlers["GatherND"] = gatherNd;
  handlers["Trilu"] = trilu;
  handlers["Max"] = [](NodeContext &ctx) { return extremum(ctx, true); };
  handlers["Min"] = [](NodeContext &ctx) { return extremum(ctx, false); };
  handlers["Cos"] = [](NodeContext &ctx) {
    return floatUnary(ctx, [](double x) { return std::cos(x); });
  };
  handlers["Sin"] = [](NodeContext &ctx) {
    return floatUnary(ctx, [](double x) { return std::sin(x); });
  };
  handlers["Abs"] = [](NodeContext &ctx) {
    return floatUnary(ctx, [](double x) { return std::fabs(x); });
  };
  handlers["Floor"] = [](NodeContext &ctx) {
    return floatUnary(ctx, [](double x) { return std::floor(x); });
  };
  handlers["Ceil"] = [](NodeContext &ctx) {
    return floatUnary(ctx, [](double x) { return std::ceil(x); });
  };
}
