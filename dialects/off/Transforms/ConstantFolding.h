//===- ConstantFolding.h - evaluate off ops on known operands ---*- C++ -*-===//
//
// Used by the off-fold-shapes pass and by the ONNX importer (which needs the
// values of shape operands while it builds the graph). One implementation so
// that both agree bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_CONSTANTFOLDING_H
#define OFF_TRANSFORMS_CONSTANTFOLDING_H

#include "dialects/off/Transforms/HostTensor.h"

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <memory>
#include <string>

namespace mlir::off {

/// What evaluating one op gave.
struct FoldOutcome {
  enum Kind {
    Folded,      ///< `value` holds the result.
    NotFoldable, ///< no rule for this op or element type, or too large.
    Invalid,     ///< the op is wrong for these operands; `error` says why.
  };
  Kind kind = NotFoldable;
  HostTensor value;
  std::string error;
};

/// Evaluates a single-result off op given the values of all its operands.
/// Results with more than `maxElements` elements are not folded, nor are
/// matmuls costing more than `maxElements * 64` multiply-adds.
FoldOutcome evaluateOffOp(Operation *op, ArrayRef<const HostTensor *> operands,
                          int64_t maxElements);

/// Values of SSA values that are computable from off.constant leaves,
/// evaluated on demand and remembered. Params and function arguments are
/// never constant.
class ConstantEvaluator {
public:
  explicit ConstantEvaluator(int64_t maxElements) : maxElements(maxElements) {}

  /// The value, or nullptr when it depends on something not constant, has no
  /// folding rule, or is too large. An Invalid evaluation is remembered and
  /// reported by `firstError`.
  const HostTensor *valueOf(Value value);

  /// The first Invalid evaluation met, with its op; empty when none.
  const std::string &firstError() const { return error; }
  Operation *firstErrorOp() const { return errorOp; }

  /// Forgets a value (after the IR defining it changed).
  void forget(Value value) { cache.erase(value); }

private:
  int64_t maxElements;
  llvm::DenseMap<Value, std::shared_ptr<HostTensor>> cache;
  std::string error;
  Operation *errorOp = nullptr;
};

} // namespace mlir::off

#endif // OFF_TRANSFORMS_CONSTANTFOLDING_H
