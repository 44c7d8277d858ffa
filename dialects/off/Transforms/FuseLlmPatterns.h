//===- FuseLlmPatterns.h - the patterns of off-fuse-llm ---------*- C++ -*-===//
//
// Internal to OffTransforms: matchers shared by the fusion patterns, and the
// functions that add each group of patterns to the pass's set.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_FUSELLMPATTERNS_H
#define OFF_TRANSFORMS_FUSELLMPATTERNS_H

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/Statistic.h"

#include <optional>

namespace mlir::off {

/// Counters of the fused ops formed, owned by the pass.
struct FusionCounters {
  llvm::Statistic *rmsNorm = nullptr, *rope = nullptr, *attention = nullptr,
                  *swiglu = nullptr, *embedding = nullptr;
};

/// The single value of a constant whose elements are all equal.
std::optional<double> splatConstant(Value value);

/// The constant attribute defining `value`, or null.
DenseElementsAttr constantAttr(Value value);

/// True when `op`'s result has the type of `operand`: the other operand only
/// broadcasts into it (a scalar scale, an eps, a [C] weight).
bool keepsTypeOf(Operation *op, Value operand);

/// Strips multiplications and divisions by scalar constants from `value`,
/// multiplying their factors into `factor`.
Value peelScale(Value value, double &factor);

/// Adds the rms_norm, silu/swiglu, embedding and matmul-transpose patterns.
void populateFuseLlmBasicPatterns(RewritePatternSet &patterns,
                                  const FusionCounters &counters);
/// Adds the rope and attention patterns.
void populateFuseLlmAttentionPatterns(RewritePatternSet &patterns,
                                      const FusionCounters &counters);

} // namespace mlir::off

#endif // OFF_TRANSFORMS_FUSELLMPATTERNS_H
