//===- MemoryLevel.cpp - tiers, streams and the memory-level ops ----------===//

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::off;

Tier mlir::off::getTier(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return Tier::device;
  if (auto tier = dyn_cast_or_null<TierAttr>(tensor.getEncoding()))
    return tier.getValue();
  return Tier::device;
}

RankedTensorType mlir::off::withTier(RankedTensorType type, Tier tier) {
  Attribute encoding;
  if (tier != Tier::device)
    encoding = TierAttr::get(type.getContext(), tier);
  return RankedTensorType::get(type.getShape(), type.getElementType(), encoding);
}

Stream mlir::off::getStream(Operation *op) {
  if (auto stream = op->getAttrOfType<StreamAttr>(kStreamAttr))
    return stream.getValue();
  return Stream::compute;
}

void mlir::off::setStream(Operation *op, Stream stream) {
  op->setAttr(kStreamAttr, StreamAttr::get(op->getContext(), stream));
}

std::optional<Stream> mlir::off::transferStream(Tier from, Tier to) {
  if (from == Tier::device && to == Tier::host) return Stream::d2h;
  if (from == Tier::host && to == Tier::device) return Stream::h2d;
  if (from == Tier::host && to == Tier::nvme) return Stream::nvme_write;
  if (from == Tier::nvme && to == Tier::host) return Stream::nvme_read;
  return std::nullopt;
}

static bool isTensor(Type type) { return isa<RankedTensorType>(type); }

LogicalResult mlir::off::verifyDeviceTensors(Operation *op) {
  for (OpOperand &operand : op->getOpOperands()) {
    Type type = operand.get().getType();
    if (isTensor(type) && getTier(type) != Tier::device)
      return op->emitOpError("reads operand #")
             << operand.getOperandNumber() << " in the "
             << stringifyTier(getTier(type))
             << " tier; kernels read and write the device tier only (prefetch "
                "it first)";
  }
  for (OpResult result : op->getResults())
    if (isTensor(result.getType()) && getTier(result.getType()) != Tier::device)
      return op->emitOpError("writes result #")
             << result.getResultNumber() << " in the "
             << stringifyTier(getTier(result.getType()))
             << " tier; kernels read and write the device tier only";
  return success();
}

LogicalResult mlir::off::verifySingleTier(Operation *op) {
  std::optional<Tier> tier;
  auto check = [&](Type type) -> LogicalResult {
    if (!isTensor(type))
      return success();
    Tier here = getTier(type);
    if (here == Tier::nvme)
      return op->emitOpError("cannot run on nvme-tier tensors (stage them in "
                             "the host tier)");
    if (tier && *tier != here)
      return op->emitOpError("mixes the ")
             << stringifyTier(*tier) << " and " << stringifyTier(here)
             << " tiers; all its tensors must be in one tier";
    tier = here;
    return success();
  };
  for (Type type : op->getOperandTypes())
    if (failed(check(type)))
      return failure();
  for (Type type : op->getResultTypes())
    if (failed(check(type)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// The off.stream attribute
//===----------------------------------------------------------------------===//

/// The stream an op must run on, or nullopt when any stream will do.
static FailureOr<std::optional<Stream>> requiredStream(Operation *op) {
  if (isa<WaitOp, RecordOp, FreeOp>(op))
    return std::optional<Stream>();
  if (isa<OffloadOp, PrefetchOp>(op)) {
    auto fromAttr = op->getAttrOfType<TierAttr>("from");
    auto toAttr = op->getAttrOfType<TierAttr>("to");
    if (!fromAttr || !toAttr) // the op's own verifier reports it
      return std::optional<Stream>();
    Tier from = fromAttr.getValue(), to = toAttr.getValue();
    std::optional<Stream> stream = transferStream(from, to);
    if (!stream)
      return op->emitOpError("moves from ")
             << stringifyTier(from) << " to " << stringifyTier(to)
             << ", which no stream does (transfers go between adjacent tiers)";
    return stream;
  }
  if (isa<AdamStepOp>(op))
    return std::optional<Stream>(getTier(op->getOperand(0).getType()) == Tier::host
                                     ? Stream::host_optimizer
                                     : Stream::compute);
  return std::optional<Stream>(Stream::compute);
}

LogicalResult OffDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attribute) {
  if (attribute.getName() == kHomeAttr) {
    if (!isa<TierAttr>(attribute.getValue()))
      return op->emitError("'off.home' must be a #off.tier attribute");
    return success();
  }
  if (attribute.getName() != kStreamAttr)
    return success();
  auto stream = dyn_cast<StreamAttr>(attribute.getValue());
  if (!stream)
    return op->emitError("'off.stream' must be a #off.stream attribute");
  FailureOr<std::optional<Stream>> required = requiredStream(op);
  if (failed(required))
    return failure();
  if (*required && **required != stream.getValue())
    return op->emitError("'")
           << op->getName() << "' runs on the " << stringifyStream(**required)
           << " stream, not " << stringifyStream(stream.getValue());
  return success();
}

//===----------------------------------------------------------------------===//
// Transfers, wait, free
//===----------------------------------------------------------------------===//

template <typename TransferOp>
static LogicalResult inferTransfer(typename TransferOp::Adaptor adaptor,
                                   SmallVectorImpl<Type> &types) {
  auto input = cast<RankedTensorType>(adaptor.getInput().getType());
  types.push_back(withTier(input, adaptor.getTo()));
  types.push_back(TokenType::get(input.getContext()));
  return success();
}

template <typename TransferOp>
static LogicalResult verifyTransfer(TransferOp op, bool towardsSlower) {
  Tier from = op.getFrom(), to = op.getTo();
  bool slower = static_cast<int>(to) > static_cast<int>(from);
  if (from == to || slower != towardsSlower)
    return op.emitOpError("moves ")
           << (towardsSlower ? "to a slower" : "to a faster")
           << " tier, not from " << stringifyTier(from) << " to "
           << stringifyTier(to);
  Tier inputTier = getTier(op.getInput().getType());
  if (inputTier != from)
    return op.emitOpError("moves from the ")
           << stringifyTier(from) << " tier a value whose type is in the "
           << stringifyTier(inputTier) << " tier";
  Tier resultTier = getTier(op.getResult().getType());
  if (resultTier != to)
    return op.emitOpError("moves to the ")
           << stringifyTier(to) << " tier but its result type is in the "
           << stringifyTier(resultTier) << " tier";
  if (Value into = op.getInto()) {
    if (into.getType() != op.getResult().getType())
      return op.emitOpError("writes into a value of type ")
             << into.getType() << ", not the result type "
             << op.getResult().getType();
    if (!isa_and_nonnull<ParamOp, StateOp>(into.getDefiningOp()))
      return op.emitOpError("writes into a value that is not an off.param or "
                            "off.state (only persistent tensors are updated "
                            "in place)");
  }
  return success();
}

LogicalResult OffloadOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  return inferTransfer<OffloadOp>(adaptor, types);
}

LogicalResult PrefetchOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  return inferTransfer<PrefetchOp>(adaptor, types);
}

LogicalResult OffloadOp::verify() { return verifyTransfer(*this, true); }
LogicalResult PrefetchOp::verify() { return verifyTransfer(*this, false); }

LogicalResult WaitOp::verify() {
  if (getTokens().empty())
    return emitOpError("needs at least one token");
  return success();
}

LogicalResult FreeOp::verify() {
  Tier tier = getTier(getInput().getType());
  if (tier != getFrom())
    return emitOpError("frees from the ")
           << stringifyTier(getFrom()) << " tier a value whose type is in the "
           << stringifyTier(tier) << " tier";
  Operation *self = getOperation();
  for (Operation *user : getInput().getUsers()) {
    if (user == self || user->getBlock() != self->getBlock())
      continue;
    if (self->isBeforeInBlock(user))
      return emitOpError("frees a value that is used afterwards")
                 .attachNote(user->getLoc())
             << "used here";
  }
  return success();
}
