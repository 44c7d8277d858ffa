//===- MemoryLevel.h - tiers of values, streams of ops ----------*- C++ -*-===//
//
// The memory level of the off dialect: a tensor's tier is the encoding of
// its type (`tensor<4xf32, #off.tier<host>>`; no encoding: the device), an
// op's stream is its discardable `off.stream` attribute (none: compute).
// Included by OffDialect.h before the ops (the DeviceTensors trait).
//
//===----------------------------------------------------------------------===//

#ifndef OFF_IR_MEMORYLEVEL_H
#define OFF_IR_MEMORYLEVEL_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir::off {

/// Name of the discardable attribute holding an op's stream.
inline constexpr llvm::StringLiteral kStreamAttr = "off.stream";
/// Name of the discardable attribute off-place puts on ops whose results
/// live in another tier than the device between their uses.
inline constexpr llvm::StringLiteral kHomeAttr = "off.home";
/// Name of the unit attribute off-remat puts on the ops it copies (a second
/// run of a forward op): what the recompute FLOPs of a plan count.
inline constexpr llvm::StringLiteral kRecomputedAttr = "off.recomputed";

/// The tier of a tensor type: its `#off.tier` encoding, or device without one.
Tier getTier(Type type);
/// `type` in `tier`: the device tier drops the encoding.
RankedTensorType withTier(RankedTensorType type, Tier tier);

/// The stream an op runs on: its `off.stream` attribute, or compute.
Stream getStream(Operation *op);
void setStream(Operation *op, Stream stream);

/// The stream a transfer between two adjacent tiers runs on (h2d, d2h,
/// nvme_read, nvme_write); nullopt for any other pair.
std::optional<Stream> transferStream(Tier from, Tier to);

/// adam_step's rule: all its tensors in one tier, the device or the host.
LogicalResult verifySingleTier(Operation *op);

/// The DeviceTensors trait's rule: every tensor operand and result of `op`
/// is on the device tier.
LogicalResult verifyDeviceTensors(Operation *op);

namespace OpTrait {
/// Kernels read and write device-tier tensors only.
template <typename ConcreteType>
class DeviceTensors : public mlir::OpTrait::TraitBase<ConcreteType, DeviceTensors> {
public:
  static LogicalResult verifyTrait(Operation *op) { return verifyDeviceTensors(op); }
};
} // namespace OpTrait

} // namespace mlir::off

#endif // OFF_IR_MEMORYLEVEL_H
