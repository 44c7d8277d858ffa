//===- AutodiffRules.h - reverse-mode rules of the off ops ------*- C++ -*-===//
//
// The backward of one graph op, as off ops: what off-autodiff emits for each
// op on a path from a trainable param to the loss. Formulations follow
// PyTorch's autograd formulas so that fp32 results match it closely.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_AUTODIFFRULES_H
#define OFF_TRANSFORMS_AUTODIFFRULES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::off {

/// Reshapes the rules made so far in one backward, by (value, type): the
/// weight gradients of several Linear layers reading the same activation
/// share one flattened view of it.
using ReshapeCache = llvm::DenseMap<std::pair<Value, Type>, Value>;

/// Emits, at the builder's insertion point, the backward of `op` (a forward
/// op whose results are available). `resultGrads[i]` is the gradient of
/// result i (null: none reaches it); `needed[j]` says whether operand j needs
/// its gradient. Returns one value per operand: its gradient contribution, or
/// null where it is not needed. Fails, after an error at `op` naming it, when
/// a needed gradient has no rule.
FailureOr<SmallVector<Value>> emitBackward(OpBuilder &builder, Operation *op,
                                           ArrayRef<Value> resultGrads,
                                           ArrayRef<bool> needed,
                                           ReshapeCache &reshapes);

/// Sums a gradient of a broadcast result back to `type`, the shape of the
/// operand that was broadcast: `reduce_sum` over the leading dimensions the
/// operand lacks and over its size-1 dimensions that were stretched, then a
/// `reshape` when both kinds occur. Returns `grad` itself when nothing was
/// broadcast.
Value sumToShape(OpBuilder &builder, Location loc, Value grad,
                 RankedTensorType type);

} // namespace mlir::off

#endif // OFF_TRANSFORMS_AUTODIFFRULES_H
