//===- VerifyHelpers.h - shared bits of op verifiers ------------*- C++ -*-===//

#ifndef OFF_IR_VERIFYHELPERS_H
#define OFF_IR_VERIFYHELPERS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace mlir::off::detail {

inline RankedTensorType rankedType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Result-type inference reports errors at the op's location when it has one
/// (parsing, verification) and stays silent otherwise (speculative builders).
inline LogicalResult inferError(std::optional<Location> loc,
                                const llvm::Twine &msg) {
  return emitOptionalError(loc, msg);
}

inline LogicalResult sameElementType(std::optional<Location> loc, Type a,
                                     Type b, llvm::StringRef what) {
  if (getElementTypeOrSelf(a) != getElementTypeOrSelf(b))
    return inferError(loc,
                      llvm::Twine(what) + " must have the same element type");
  return success();
}

} // namespace mlir::off::detail

#endif // OFF_IR_VERIFYHELPERS_H
