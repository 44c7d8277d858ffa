//===- OffOps.cpp - verifiers, result-type inference and folders ----------===//

#include "dialects/off/IR/OffDialect.h"
#include "dialects/off/IR/ShapeRules.h"
#include "dialects/off/IR/VerifyHelpers.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SmallSet.h"

#include <cmath>

using namespace mlir;
using namespace mlir::off;

using namespace mlir::off::detail;

//===----------------------------------------------------------------------===//
// Sources
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty name");
  if (std::optional<StringRef> master = getCopyOf()) {
    if (master->empty())
      return emitOpError("copy_of must name the master param");
    if (*master == getName())
      return emitOpError("a compute copy needs a name of its own, not its "
                         "master's '")
             << *master << "'";
    if (getTrainable())
      return emitOpError("a compute copy (copy_of) is not trainable: its "
                         "master is");
    if (!isa<FloatType>(getResult().getType().getElementType()))
      return emitOpError("a compute copy must have a float element type");
  }
  return success();
}

LogicalResult StateOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty name");
  return success();
}

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  auto tensorType = dyn_cast<RankedTensorType>(adaptor.getValue().getType());
  if (!tensorType || !tensorType.hasStaticShape())
    return inferError(loc, "value must be a statically shaped tensor");
  types.push_back(tensorType);
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Arithmetic
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto lhs = rankedType(adaptor.getLhs());
  auto rhs = rankedType(adaptor.getRhs());
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return inferError(loc, "operands must have rank >= 2");
  if (failed(sameElementType(loc, lhs, rhs, "operands")))
    return failure();
  auto lhsShape = lhs.getShape(), rhsShape = rhs.getShape();
  int64_t m = lhsShape[lhs.getRank() - (adaptor.getTransposeLhs() ? 1 : 2)];
  int64_t kl = lhsShape[lhs.getRank() - (adaptor.getTransposeLhs() ? 2 : 1)];
  int64_t kr = rhsShape[rhs.getRank() - (adaptor.getTransposeRhs() ? 1 : 2)];
  int64_t n = rhsShape[rhs.getRank() - (adaptor.getTransposeRhs() ? 2 : 1)];
  if (kl != kr)
    return inferError(loc, "contraction dimensions differ: " +
                               llvm::Twine(kl) + " vs " + llvm::Twine(kr));
  SmallVector<int64_t> shape;
  if (!broadcastShapes(lhsShape.drop_back(2), rhsShape.drop_back(2), shape))
    return inferError(loc, "batch dimensions do not broadcast");
  shape.push_back(m);
  shape.push_back(n);
  types.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

static LogicalResult inferBroadcast(std::optional<Location> loc, Value lhsValue,
                                    Value rhsValue,
                                    SmallVectorImpl<Type> &types) {
  auto lhs = rankedType(lhsValue), rhs = rankedType(rhsValue);
  if (failed(sameElementType(loc, lhs, rhs, "operands")))
    return failure();
  SmallVector<int64_t> shape;
  if (!broadcastShapes(lhs.getShape(), rhs.getShape(), shape))
    return inferError(loc, "operand shapes do not broadcast");
  types.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

#define OFF_BINARY_INFER(OpClass)                                              \
  LogicalResult OpClass::inferReturnTypes(MLIRContext *,                       \
                                          std::optional<Location> loc,         \
                                          Adaptor adaptor,                     \
                                          SmallVectorImpl<Type> &types) {      \
    return inferBroadcast(loc, adaptor.getLhs(), adaptor.getRhs(), types);     \
  }
OFF_BINARY_INFER(AddOp)
OFF_BINARY_INFER(SubOp)
OFF_BINARY_INFER(MulOp)
OFF_BINARY_INFER(DivOp)
#undef OFF_BINARY_INFER

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult CastOp::verify() {
  if (getInput().getType().getShape() != getResult().getType().getShape())
    return emitOpError("must not change the shape");
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (!in.hasStaticShape() || !out.hasStaticShape())
    return emitOpError("needs static shapes");
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("must keep the number of elements (")
           << in.getNumElements() << " vs " << out.getNumElements() << ")";
  if (in.getElementType() != out.getElementType())
    return emitOpError("must keep the element type");
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto in = rankedType(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (!isPermutation(perm, in.getRank()))
    return inferError(loc, "perm must be a permutation of 0.." +
                               llvm::Twine(in.getRank() - 1));
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(in.getDimSize(p));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  auto in = rankedType(adaptor.getInput());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= in.getRank())
    return inferError(loc, "axis " + llvm::Twine(axis) + " out of range");
  int64_t start = adaptor.getStart(), end = adaptor.getEnd();
  int64_t step = adaptor.getStep();
  if (step < 1)
    return inferError(loc, "step must be >= 1");
  if (start < 0 || start > end || end > in.getDimSize(axis))
    return inferError(loc, "needs 0 <= start <= end <= " +
                               llvm::Twine(in.getDimSize(axis)));
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = (end - start + step - 1) / step;
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (adaptor.getInputs().empty())
    return inferError(loc, "needs at least one input");
  auto first = rankedType(adaptor.getInputs().front());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return inferError(loc, "axis " + llvm::Twine(axis) + " out of range");
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value input : adaptor.getInputs()) {
    auto type = rankedType(input);
    if (failed(sameElementType(loc, first, type, "inputs")))
      return failure();
    if (type.getRank() != first.getRank())
      return inferError(loc, "inputs must have the same rank");
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (d != axis && type.getDimSize(d) != first.getDimSize(d))
        return inferError(loc, "inputs differ in dimension " + llvm::Twine(d) +
                                   ", which is not the concat axis");
    shape[axis] += type.getDimSize(axis);
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}


LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto data = rankedType(adaptor.getData());
  auto indices = rankedType(adaptor.getIndices());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return inferError(loc, "axis " + llvm::Twine(axis) + " out of range");
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions and normalisations
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(std::optional<Location> loc, Value input,
                                 ArrayRef<int64_t> axes, bool keepdims,
                                 SmallVectorImpl<Type> &types) {
  auto in = rankedType(input);
  llvm::SmallSet<int64_t, 4> seen;
  for (int64_t axis : axes) {
    if (axis < 0 || axis >= in.getRank())
      return inferError(loc, "axis " + llvm::Twine(axis) + " out of range");
    if (!seen.insert(axis).second)
      return inferError(loc, "axis " + llvm::Twine(axis) + " repeated");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (!seen.contains(d))
      shape.push_back(in.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

#define OFF_REDUCE_INFER(OpClass)                                              \
  LogicalResult OpClass::inferReturnTypes(MLIRContext *,                       \
                                          std::optional<Location> loc,         \
                                          Adaptor adaptor,                     \
                                          SmallVectorImpl<Type> &types) {      \
    return inferReduce(loc, adaptor.getInput(), adaptor.getAxes(),             \
                       adaptor.getKeepdims(), types);                          \
  }
OFF_REDUCE_INFER(ReduceSumOp)
OFF_REDUCE_INFER(ReduceMeanOp)
OFF_REDUCE_INFER(ReduceMaxOp)
#undef OFF_REDUCE_INFER

LogicalResult SoftmaxOp::verify() {
  int64_t axis = getAxis();
  if (axis < 0 || axis >= getInput().getType().getRank())
    return emitOpError("axis ") << axis << " out of range";
  return success();
}

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  auto in = rankedType(adaptor.getInput());
  auto weight = rankedType(adaptor.getWeight());
  if (in.getRank() < 1)
    return inferError(loc, "input must have rank >= 1");
  if (weight.getRank() != 1 ||
      weight.getDimSize(0) != in.getDimSize(in.getRank() - 1))
    return inferError(loc, "weight must be [C] where input is [..., C]");
  if (failed(sameElementType(loc, in, weight, "input and weight")))
    return failure();
  types.push_back(in);
  return success();
}

LogicalResult RmsNormOp::verify() {
  if (!(getEps().convertToDouble() > 0.0))
    return emitOpError("eps must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// Fused LLM ops
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  auto in = rankedType(adaptor.getInput());
  if (in.getRank() != 4)
    return inferError(loc, "input must be [B, H, T, D]");
  int64_t seq = in.getDimSize(2), headDim = in.getDimSize(3);
  if (headDim % 2 != 0)
    return inferError(loc, "head dimension must be even");
  for (Value table : {adaptor.getCos(), adaptor.getSin()}) {
    auto type = rankedType(table);
    if (type.getShape() != ArrayRef<int64_t>{seq, headDim})
      return inferError(loc, "cos and sin must be [T, D] = [" +
                                 llvm::Twine(seq) + ", " + llvm::Twine(headDim) +
                                 "]");
    if (failed(sameElementType(loc, in, type, "input and tables")))
      return failure();
  }
  types.push_back(in);
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto q = rankedType(adaptor.getQuery());
  auto k = rankedType(adaptor.getKey());
  auto v = rankedType(adaptor.getValue());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return inferError(loc, "query, key and value must be [B, heads, seq, dim]");
  if (failed(sameElementType(loc, q, k, "query, key and value")) ||
      failed(sameElementType(loc, q, v, "query, key and value")))
    return failure();
  auto qs = q.getShape(), ks = k.getShape(), vs = v.getShape();
  if (qs[0] != ks[0] || qs[0] != vs[0])
    return inferError(loc, "query, key and value differ in batch size");
  if (ks[1] != vs[1] || ks[2] != vs[2])
    return inferError(loc, "key and value differ in heads or sequence");
  if (qs[1] % ks[1] != 0)
    return inferError(loc, "query heads (" + llvm::Twine(qs[1]) +
                               ") must be a multiple of key/value heads (" +
                               llvm::Twine(ks[1]) + ")");
  if (qs[3] != ks[3])
    return inferError(loc, "query and key differ in head dimension");
  if (adaptor.getCausal() && qs[2] > ks[2])
    return inferError(loc, "causal attention needs query length <= key length");
  types.push_back(
      RankedTensorType::get({qs[0], qs[1], qs[2], vs[3]}, q.getElementType()));
  return success();
}

double AttentionOp::getScaleOrDefault() {
  if (auto scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(getQuery().getType().getDimSize(3)));
}

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto table = rankedType(adaptor.getTable());
  auto ids = rankedType(adaptor.getIds());
  if (table.getRank() != 2)
    return inferError(loc, "table must be [V, C]");
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(table.getDimSize(1));
  types.push_back(RankedTensorType::get(shape, table.getElementType()));
  return success();
}

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  auto logits = rankedType(adaptor.getLogits());
  auto targets = rankedType(adaptor.getTargets());
  if (logits.getRank() < 1 ||
      targets.getShape() != logits.getShape().drop_back())
    return inferError(loc, "targets must be [...] where logits are [..., V]");
  types.push_back(RankedTensorType::get({}, logits.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Memory level
//===----------------------------------------------------------------------===//

// Transfers, record, wait and free: MemoryLevel.cpp.

LogicalResult RecomputeOp::verify() {
  auto yield = cast<YieldOp>(getBody().front().getTerminator());
  if (yield.getValues().getTypes() != getResults().getTypes())
    return emitOpError("region must yield the result types");
  return success();
}

static LogicalResult inferCollective(std::optional<Location> loc, Value input,
                                     int64_t axis, int64_t ranks, bool gather,
                                     SmallVectorImpl<Type> &types) {
  auto in = rankedType(input);
  if (ranks < 1)
    return inferError(loc, "ranks must be >= 1");
  if (axis < 0 || axis >= in.getRank())
    return inferError(loc, "axis " + llvm::Twine(axis) + " out of range");
  SmallVector<int64_t> shape(in.getShape());
  if (gather) {
    shape[axis] *= ranks;
  } else {
    if (shape[axis] % ranks != 0)
      return inferError(loc, "dimension " + llvm::Twine(axis) + " (" +
                                 llvm::Twine(shape[axis]) +
                                 ") is not divisible by ranks (" +
                                 llvm::Twine(ranks) + ")");
    shape[axis] /= ranks;
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult AllGatherOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return inferCollective(loc, adaptor.getInput(), adaptor.getAxis(),
                         adaptor.getRanks(), /*gather=*/true, types);
}

LogicalResult ReduceScatterOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  return inferCollective(loc, adaptor.getInput(), adaptor.getAxis(),
                         adaptor.getRanks(), /*gather=*/false, types);
}

#define GET_OP_CLASSES
#include "dialects/off/IR/OffOps.cpp.inc"
