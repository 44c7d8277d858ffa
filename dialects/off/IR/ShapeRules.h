//===- ShapeRules.h - shape arithmetic shared by ops and passes -*- C++ -*-===//

#ifndef OFF_IR_SHAPERULES_H
#define OFF_IR_SHAPERULES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>

namespace mlir::off {

/// NumPy broadcasting of two static shapes (aligned from the right, size 1
/// stretches). Returns false when some dimension pair is incompatible.
bool broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs,
                     llvm::SmallVectorImpl<int64_t> &result);

/// True when `perm` holds each of 0..rank-1 exactly once.
bool isPermutation(llvm::ArrayRef<int64_t> perm, int64_t rank);

} // namespace mlir::off

#endif // OFF_IR_SHAPERULES_H
