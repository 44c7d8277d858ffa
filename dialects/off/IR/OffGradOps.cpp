//===- OffGradOps.cpp - verifiers and inference of gradient ops -----------===//

#include "dialects/off/IR/OffDialect.h"
#include "dialects/off/IR/ShapeRules.h"
#include "dialects/off/IR/VerifyHelpers.h"

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::detail;

LogicalResult RmsNormGradOp::inferReturnTypes(MLIRContext *context,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  if (adaptor.getGradOutput().getType() != adaptor.getInput().getType())
    return inferError(loc, "grad_output must have the input's type");
  SmallVector<Type> forward;
  if (failed(RmsNormOp::inferReturnTypes(
          context, loc, RmsNormOp::Adaptor({adaptor.getInput(), adaptor.getWeight()}),
          forward)))
    return failure();
  types.push_back(adaptor.getInput().getType());
  types.push_back(adaptor.getWeight().getType());
  return success();
}

LogicalResult RopeGradOp::inferReturnTypes(MLIRContext *context,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  return RopeOp::inferReturnTypes(
      context, loc,
      RopeOp::Adaptor({adaptor.getGradOutput(), adaptor.getCos(), adaptor.getSin()}),
      types);
}

LogicalResult AttentionGradOp::inferReturnTypes(MLIRContext *context,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  SmallVector<Type> forward;
  AttentionOp::Properties props;
  props.causal = adaptor.getCausalAttr();
  props.scale = adaptor.getScaleAttr();
  if (failed(AttentionOp::inferReturnTypes(
          context, loc,
          AttentionOp::Adaptor({adaptor.getQuery(), adaptor.getKey(), adaptor.getValue()},
                               nullptr, props),
          forward)))
    return failure();
  if (adaptor.getGradOutput().getType() != forward.front())
    return inferError(loc, "grad_output must have the attention output's type");
  types.push_back(adaptor.getQuery().getType());
  types.push_back(adaptor.getKey().getType());
  types.push_back(adaptor.getValue().getType());
  return success();
}

LogicalResult EmbeddingGradOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  auto ids = rankedType(adaptor.getIds());
  auto dy = rankedType(adaptor.getGradOutput());
  if (dy.getRank() != ids.getRank() + 1 ||
      dy.getShape().drop_back() != ids.getShape())
    return inferError(loc, "grad_output must be ids.shape + [C]");
  if (adaptor.getVocabSize() < 1)
    return inferError(loc, "vocab_size must be >= 1");
  types.push_back(RankedTensorType::get(
      {static_cast<int64_t>(adaptor.getVocabSize()), dy.getShape().back()}, dy.getElementType()));
  return success();
}

LogicalResult CrossEntropyGradOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  SmallVector<Type> forward;
  if (failed(CrossEntropyOp::inferReturnTypes(
          context, loc,
          CrossEntropyOp::Adaptor({adaptor.getLogits(), adaptor.getTargets()}),
          forward)))
    return failure();
  if (failed(sameElementType(loc, adaptor.getLogits().getType(),
                             adaptor.getGradLoss().getType(),
                             "logits and grad_loss")))
    return failure();
  types.push_back(adaptor.getLogits().getType());
  return success();
}

LogicalResult SoftmaxGradOp::verify() {
  int64_t axis = getAxis();
  if (axis < 0 || axis >= getOutput().getType().getRank())
    return emitOpError("axis ") << axis << " out of range";
  return success();
}

LogicalResult BroadcastToOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  SmallVector<int64_t> shape;
  if (in.getElementType() != out.getElementType() ||
      !broadcastShapes(in.getShape(), out.getShape(), shape) ||
      ArrayRef<int64_t>(shape) != out.getShape())
    return emitOpError("cannot broadcast ") << in << " to " << out;
  return success();
}

LogicalResult SliceGradOp::verify() {
  SmallVector<Type> forward;
  SliceOp::Properties props;
  props.axis = getAxisAttr();
  props.start = getStartAttr();
  props.end = getEndAttr();
  props.step = getStepAttr();
  if (failed(SliceOp::inferReturnTypes(
          getContext(), getLoc(),
          SliceOp::Adaptor(ValueRange{getGradInput()}, nullptr, props), forward)))
    return failure();
  if (forward.front() != getGradOutput().getType())
    return emitOpError("grad_output ")
           << getGradOutput().getType() << " is not the slice " << forward.front()
           << " of the result type";
  return success();
}

LogicalResult GatherGradOp::verify() {
  SmallVector<Type> forward;
  GatherOp::Properties props;
  props.axis = getAxisAttr();
  if (failed(GatherOp::inferReturnTypes(
          getContext(), getLoc(),
          GatherOp::Adaptor({getGradData(), getIndices()}, nullptr, props),
          forward)))
    return failure();
  if (forward.front() != getGradOutput().getType())
    return emitOpError("grad_output ")
           << getGradOutput().getType() << " is not what gathering from "
           << getGradData().getType() << " gives: " << forward.front();
  return success();
}

LogicalResult GlobalNormOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one tensor");
  return success();
}

LogicalResult NormPartialOp::inferReturnTypes(MLIRContext *context,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!input || !input.hasStaticShape())
    return inferError(loc, "norm_partial needs a static shape");
  types.push_back(RankedTensorType::get({numBlocks(input.getNumElements())},
                                        Float64Type::get(context)));
  return success();
}

LogicalResult NormPartialOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  int64_t want = numBlocks(input.getNumElements());
  if (getPartial().getType().getDimSize(0) != want)
    return emitOpError("needs one f64 per block of ")
           << kBlock << " elements: " << input.getNumElements()
           << " elements make " << want << ", the result has "
           << getPartial().getType().getDimSize(0);
  return success();
}

LogicalResult NormCombineOp::verify() {
  if (getPartials().empty())
    return emitOpError("needs at least one partial");
  for (Value p : getPartials())
    if (!cast<RankedTensorType>(p.getType()).hasStaticShape())
      return emitOpError("needs partials of static shape");
  return success();
}

LogicalResult AdamStepOp::verify() {
  auto positive = [](FloatAttr a) { return a.getValueAsDouble() > 0.0; };
  auto unit = [](FloatAttr a) {
    return a.getValueAsDouble() >= 0.0 && a.getValueAsDouble() < 1.0;
  };
  if (!positive(getLrAttr()) || !positive(getEpsAttr()))
    return emitOpError("lr and eps must be positive");
  if (!unit(getBeta1Attr()) || !unit(getBeta2Attr()))
    return emitOpError("betas must be in [0, 1)");
  if (getWeightDecayAttr().getValueAsDouble() < 0.0)
    return emitOpError("weight_decay must be >= 0");
  if (getMaxGradNormAttr() && !getNorm())
    return emitOpError("max_grad_norm needs the norm operand");
  if (getMaxGradNormAttr() && !positive(getMaxGradNormAttr()))
    return emitOpError("max_grad_norm must be positive");
  auto param = getParam().getType();
  if (getGrad().getType().getShape() != param.getShape())
    return emitOpError("grad must have the param's shape");
  if (Value copy = getComputeCopy()) {
    auto copyType = cast<RankedTensorType>(copy.getType());
    if (copyType.getShape() != param.getShape())
      return emitOpError("the compute copy must have the param's shape");
    if (!getNewComputeCopy() || getNewComputeCopy().getType() != copyType)
      return emitOpError("a compute copy needs a result of its type");
  } else if (getNewComputeCopy()) {
    return emitOpError("a new_compute_copy result needs a compute copy operand");
  }
  return verifySingleTier(*this);
}

// off.adam_step %p, %g, %m, %v[, %norm][ copy %c] attr-dict
//     : P[, N][, grad G][, copy C]
// where P is the type of param, exp_avg and exp_avg_sq (and of the first
// three results), G the grad's type when it differs from P, C the copy's.
ParseResult AdamStepOp::parse(OpAsmParser &parser, OperationState &result) {
  OpAsmParser::UnresolvedOperand main[4], norm, copy;
  bool hasNorm = false, hasCopy = false;
  for (int i = 0; i < 4; ++i)
    if ((i && parser.parseComma()) || parser.parseOperand(main[i]))
      return failure();
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseOperand(norm))
      return failure();
    hasNorm = true;
  }
  if (succeeded(parser.parseOptionalKeyword("copy"))) {
    if (parser.parseOperand(copy))
      return failure();
    hasCopy = true;
  }
  if (parser.parseOptionalAttrDict(result.attributes) || parser.parseColon())
    return failure();
  Type paramType, normType, copyType;
  if (parser.parseType(paramType))
    return failure();
  Type gradType = paramType;
  if (hasNorm && (parser.parseComma() || parser.parseType(normType)))
    return failure();
  while (succeeded(parser.parseOptionalComma())) {
    if (succeeded(parser.parseOptionalKeyword("grad"))) {
      if (parser.parseType(gradType))
        return failure();
    } else if (succeeded(parser.parseOptionalKeyword("copy"))) {
      if (parser.parseType(copyType))
        return failure();
    } else {
      return parser.emitError(parser.getCurrentLocation(),
                              "expected 'grad TYPE' or 'copy TYPE'");
    }
  }
  if (hasCopy != bool(copyType))
    return parser.emitError(parser.getNameLoc(),
                            "a copy operand and a 'copy TYPE' go together");
  Type types[4] = {paramType, gradType, paramType, paramType};
  for (int i = 0; i < 4; ++i)
    if (parser.resolveOperand(main[i], types[i], result.operands))
      return failure();
  if (hasNorm && parser.resolveOperand(norm, normType, result.operands))
    return failure();
  if (hasCopy && parser.resolveOperand(copy, copyType, result.operands))
    return failure();
  result.getOrAddProperties<Properties>().operandSegmentSizes = {
      1, 1, 1, 1, hasNorm ? 1 : 0, hasCopy ? 1 : 0};
  result.addTypes({paramType, paramType, paramType});
  if (hasCopy)
    result.addTypes(copyType);
  return success();
}

void AdamStepOp::print(OpAsmPrinter &p) {
  p << " " << getParam() << ", " << getGrad() << ", " << getExpAvg() << ", "
    << getExpAvgSq();
  if (getNorm())
    p << ", " << getNorm();
  if (getComputeCopy())
    p << " copy " << getComputeCopy();
  p.printOptionalAttrDict((*this)->getAttrs(),
                          /*elidedAttrs=*/{"operandSegmentSizes"});
  p << " : " << getParam().getType();
  if (getNorm())
    p << ", " << getNorm().getType();
  if (getGrad().getType() != getParam().getType())
    p << ", grad " << getGrad().getType();
  if (getComputeCopy())
    p << ", copy " << getComputeCopy().getType();
}
