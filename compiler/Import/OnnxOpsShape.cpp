//===- OnnxOpsShape.cpp - shapes, layout, indexing, constants -------------===//
//
// Shape and Size read the static type; Reshape, Unsqueeze, Squeeze, Flatten,
// Transpose, Concat, Slice, Split, Gather and Expand become off layout ops
// (their shape operands must be constants); Constant and ConstantOfShape
// become off.constant.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"
#include "dialects/off/IR/ShapeRules.h"

#include <limits>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

namespace {

HostTensor i64Vector(MLIRContext *context, ArrayRef<int64_t> values) {
  HostTensor tensor(RankedTensorType::get({static_cast<int64_t>(values.size())},
                                          IntegerType::get(context, 64)));
  for (size_t i = 0; i < values.size(); ++i)
    tensor.setInt(i, values[i]);
  return tensor;
}

Value reshapeTo(NodeContext &ctx, Value input, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(input.getType());
  return ReshapeOp::create(ctx.builder(), ctx.loc(),
                           RankedTensorType::get(shape, type.getElementType()), input);
}

LogicalResult shape(NodeContext &ctx) {
  ArrayRef<int64_t> dims = ctx.inputType(0).getShape();
  int64_t rank = dims.size();
  int64_t start = ctx.intAttr("start", 0), end = ctx.intAttr("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  ctx.setConstantOutput(0, i64Vector(ctx.context(),
                                     dims.slice(start, std::max<int64_t>(0, end - start))));
  return success();
}

LogicalResult size(NodeContext &ctx) {
  HostTensor tensor(RankedTensorType::get({}, IntegerType::get(ctx.context(), 64)));
  tensor.setInt(0, ctx.inputType(0).getNumElements());
  ctx.setConstantOutput(0, tensor);
  return success();
}

LogicalResult reshape(NodeContext &ctx) {
  auto requested = ctx.intsInput(1, "the target shape");
  if (failed(requested))
    return failure();
  RankedTensorType in = ctx.inputType(0);
  bool allowZero = ctx.intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t inferAt = -1, known = 1;
  for (size_t d = 0; d < requested->size(); ++d) {
    int64_t dim = (*requested)[d];
    if (dim == 0 && !allowZero) {
      if (d >= static_cast<size_t>(in.getRank()))
        return ctx.fail("target shape copies dimension " + llvm::Twine(d) +
                        " the input does not have");
      dim = in.getDimSize(d);
    }
    if (dim == -1) {
      if (inferAt >= 0)
        return ctx.fail("target shape has more than one -1");
      inferAt = d;
      shape.push_back(1);
      continue;
    }
    if (dim < 0)
      return ctx.fail("target shape has a negative dimension");
    shape.push_back(dim);
    known *= dim;
  }
  if (inferAt >= 0) {
    if (known == 0 || in.getNumElements() % known != 0)
      return ctx.fail("cannot infer the -1 of the target shape");
    shape[inferAt] = in.getNumElements() / known;
    known *= shape[inferAt];
  }
  if (known != in.getNumElements())
    return ctx.fail("target shape holds " + llvm::Twine(known) + " elements, the input " +
                    llvm::Twine(in.getNumElements()));
  ctx.setOutput(0, reshapeTo(ctx, ctx.input(0), shape));
  return success();
}

/// Axes from the input (opset 13+) or the attribute, normalised for `rank`.
FailureOr<SmallVector<int64_t>> axesOf(NodeContext &ctx, int64_t rank, bool required) {
  SmallVector<int64_t> axes;
  if (ctx.hasInput(1)) {
    auto given = ctx.intsInput(1, "axes");
    if (failed(given))
      return failure();
    axes = *given;
  } else if (auto given = ctx.intsAttr("axes")) {
    axes = *given;
  } else if (required) {
    (void)ctx.fail("needs axes");
    return failure();
  }
  for (int64_t &a : axes) {
    auto normalized = ctx.axis(a, rank);
    if (failed(normalized))
      return failure();
    a = *normalized;
  }
  llvm::sort(axes);
  return axes;
}

LogicalResult unsqueeze(NodeContext &ctx) {
  RankedTensorType in = ctx.inputType(0);
  int64_t rank = in.getRank();
  int64_t count = ctx.hasInput(1) ? ctx.inputType(1).getNumElements()
                                  : static_cast<int64_t>(ctx.intsAttr("axes").value_or(
                                                                          SmallVector<int64_t>())
                                                             .size());
  auto axes = axesOf(ctx, rank + count, /*required=*/true);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> shape;
  auto next = in.getShape().begin();
  for (int64_t d = 0; d < rank + count; ++d)
    shape.push_back(llvm::is_contained(*axes, d) ? 1 : *next++);
  ctx.setOutput(0, reshapeTo(ctx, ctx.input(0), shape));
  return success();
}

LogicalResult squeeze(NodeContext &ctx) {
  RankedTensorType in = ctx.inputType(0);
  auto axes = axesOf(ctx, in.getRank(), /*required=*/false);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    bool listed = llvm::is_contained(*axes, d);
    if (listed && in.getDimSize(d) != 1)
      return ctx.fail("squeezes dimension " + llvm::Twine(d) + " of size " +
                      llvm::Twine(in.getDimSize(d)));
    if (!(listed || (axes->empty() && in.getDimSize(d) == 1)))
      shape.push_back(in.getDimSize(d));
  }
  ctx.setOutput(0, reshapeTo(ctx, ctx.input(0), shape));
  return success();
}

LogicalResult flatten(NodeContext &ctx) {
  RankedTensorType in = ctx.inputType(0);
  int64_t rank = in.getRank();
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return ctx.fail("axis out of range");
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= in.getDimSize(d);
  ctx.setOutput(0, reshapeTo(ctx, ctx.input(0),
                             {outer, outer ? in.getNumElements() / outer : 0}));
  return success();
}

LogicalResult transpose(NodeContext &ctx) {
  int64_t rank = ctx.inputType(0).getRank();
  SmallVector<int64_t> perm;
  if (auto given = ctx.intsAttr("perm"))
    perm = *given;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  if (!isPermutation(perm, rank))
    return ctx.fail("perm is not a permutation of the input's dimensions");
  ctx.setOutput(0, TransposeOp::create(ctx.builder(), ctx.loc(), ctx.input(0), perm));
  return success();
}

LogicalResult concat(NodeContext &ctx) {
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      inputs.push_back(ctx.input(i));
  if (inputs.empty())
    return ctx.fail("has no inputs");
  auto first = cast<RankedTensorType>(inputs.front().getType());
  auto axis = ctx.axis(ctx.intAttr("axis", 0), first.getRank());
  if (failed(axis))
    return failure();
  SmallVector<Type> inferred;
  ConcatOp::Properties props;
  props.axis = ctx.builder().getI64IntegerAttr(*axis);
  if (failed(ConcatOp::inferReturnTypes(ctx.context(), std::nullopt, inputs, nullptr,
                                        &props, {}, inferred)))
    return ctx.fail("inputs differ in rank, element type or a dimension other than the "
                    "concat axis");
  ctx.setOutput(0, ConcatOp::create(ctx.builder(), ctx.loc(), inputs, *axis));
  return success();
}

LogicalResult slice(NodeContext &ctx) {
  RankedTensorType in = ctx.inputType(0);
  int64_t rank = in.getRank();
  auto starts = ctx.intsInput(1, "starts");
  auto ends = ctx.intsInput(2, "ends");
  if (failed(starts) || failed(ends))
    return failure();
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (ctx.hasInput(3)) {
    auto given = ctx.intsInput(3, "axes");
    if (failed(given))
      return failure();
    axes = *given;
  } else {
    for (size_t d = 0; d < starts->size(); ++d)
      axes.push_back(d);
  }
  if (ctx.hasInput(4)) {
    auto given = ctx.intsInput(4, "steps");
    if (failed(given))
      return failure();
    steps = *given;
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return ctx.fail("starts, ends, axes and steps differ in length");
  Value result = ctx.input(0);
  for (size_t k = 0; k < axes.size(); ++k) {
    auto axis = ctx.axis(axes[k], rank);
    if (failed(axis))
      return failure();
    int64_t dim = in.getDimSize(*axis), step = steps[k];
    if (step < 1)
      return ctx.fail("Slice with step " + llvm::Twine(step) +
                      " is not supported (off.slice steps forward)");
    // ONNX clamps out-of-range starts and ends (INT64_MAX means "to the end").
    int64_t start = (*starts)[k], end = (*ends)[k];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, start, dim);
    result = SliceOp::create(ctx.builder(), ctx.loc(), result, *axis, start, end, step);
  }
  ctx.setOutput(0, result);
  return success();
}

LogicalResult split(NodeContext &ctx) {
  RankedTensorType in = ctx.inputType(0);
  auto axis = ctx.axis(ctx.intAttr("axis", 0), in.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = in.getDimSize(*axis);
  int64_t outputs = ctx.proto().output_size();
  SmallVector<int64_t> sizes;
  if (ctx.hasInput(1)) {
    auto given = ctx.intsInput(1, "split");
    if (failed(given))
      return failure();
    sizes = *given;
  } else if (auto given = ctx.intsAttr("split")) {
    sizes = *given;
  } else {
    // Equal parts (the last one smaller when opset 18's num_outputs says so).
    int64_t parts = ctx.intAttr("num_outputs", outputs);
    int64_t each = (dim + parts - 1) / parts;
    for (int64_t p = 0; p < parts; ++p)
      sizes.push_back(std::min(each, dim - p * each));
  }
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (static_cast<int64_t>(sizes.size()) != outputs || total != dim)
    return ctx.fail("split sizes do not match the outputs and the axis size");
  int64_t start = 0;
  for (int64_t p = 0; p < outputs; ++p) {
    ctx.setOutput(p, SliceOp::create(ctx.builder(), ctx.loc(), ctx.input(0), *axis, start,
                                     start + sizes[p], 1));
    start += sizes[p];
  }
  return success();
}

LogicalResult gather(NodeContext &ctx) {
  RankedTensorType data = ctx.inputType(0);
  auto axis = ctx.axis(ctx.intAttr("axis", 0), data.getRank());
  if (failed(axis))
    return failure();
  Value indices = ctx.indicesInput(1);
  if (!isa<IntegerType>(cast<RankedTensorType>(indices.getType()).getElementType()))
    return ctx.fail("indices must be integers");
  // Constant negative indices count from the end: made explicit here.
  if (const HostTensor *known = ctx.constantInput(1)) {
    HostTensor normalized = *known;
    bool changed = false;
    int64_t extent = data.getDimSize(*axis);
    for (int64_t i = 0; i < known->size(); ++i) {
      int64_t index = known->getInt(i);
      if (index < -extent || index >= extent)
        return ctx.fail("index " + llvm::Twine(index) + " is out of range for a "
                        "dimension of size " + llvm::Twine(extent));
      if (index < 0) {
        normalized.setInt(i, index + extent);
        changed = true;
      }
    }
    if (changed)
      indices = ConstantOp::create(ctx.builder(), ctx.loc(), normalized.toAttr());
  }
  ctx.setOutput(0, GatherOp::create(ctx.builder(), ctx.loc(), ctx.input(0), indices, *axis));
  return success();
}

/// Expand: bidirectional broadcast to the given shape. Data becomes
/// off.broadcast_to (the grouped-query repeat of keys and values).
LogicalResult expand(NodeContext &ctx) {
  auto requested = ctx.intsInput(1, "the target shape");
  if (failed(requested))
    return failure();
  RankedTensorType in = ctx.inputType(0);
  SmallVector<int64_t> shape;
  if (!broadcastShapes(in.getShape(), *requested, shape))
    return ctx.fail("input shape does not broadcast to the target shape");
  if (ArrayRef<int64_t>(shape) == in.getShape()) {
    ctx.setOutput(0, ctx.input(0));
    return success();
  }
  ctx.setOutput(0, BroadcastToOp::create(ctx.builder(), ctx.loc(),
                                         RankedTensorType::get(shape, in.getElementType()),
                                         ctx.input(0)));
  return success();
}

LogicalResult constantOfShape(NodeContext &ctx) {
  auto dims = ctx.intsInput(0, "the shape");
  if (failed(dims))
    return failure();
  // The fill value: a one-element tensor attribute, f32 0 when absent.
  std::optional<HostTensor> fill;
  if (ctx.attribute("value")) {
    auto value = ctx.tensorAttr("value");
    if (failed(value))
      return failure();
    if (value->size() != 1)
      return ctx.fail("value must hold one element");
    fill = *value;
  }
  Type element = fill ? fill->getElementType() : Float32Type::get(ctx.context());
  for (int64_t d : *dims)
    if (d < 0)
      return ctx.fail("shape has a negative dimension");
  HostTensor out(RankedTensorType::get(*dims, element));
  for (int64_t i = 0; i < out.size(); ++i) {
    if (!fill)
      continue;
    if (out.isFloat())
      out.setFloat(i, fill->getFloat(0));
    else
      out.setInt(i, fill->getInt(0));
  }
  ctx.setConstantOutput(0, out);
  return success();
}

} // namespace

void onnx_import::addShapeHandlers(llvm::StringMap<OpHandler> &handlers) {
  handlers["Shape"] = shape;
  handlers["Size"] = size;
  handlers["Reshape"] = reshape;
  handlers["Unsqueeze"] = unsqueeze;
  handlers["Squeeze"] = squeeze;
  handlers["Flatten"] = flatten;
  handlers["Transpose"] = transpose;
  handlers["Concat"] = concat;
  handlers["Slice"] = slice;
  handlers["Split"] = split;
  handlers["Gather"] = gather;
  handlers["Expand"] = expand;
  handlers["ConstantOfShape"] = constantOfShape;
}
