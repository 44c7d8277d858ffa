//===- AttentionMask.h - what a constant attention mask means ---*- C++ -*-===//
//
// Shared by off-fuse-llm (additive masks in front of a softmax) and the ONNX
// importer (the mask input of ONNX's Attention op), so both accept exactly
// the same masks as causal.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_ATTENTIONMASK_H
#define OFF_TRANSFORMS_ATTENTIONMASK_H

#include "dialects/off/Transforms/HostTensor.h"

#include "llvm/ADT/ArrayRef.h"

namespace mlir::off {

enum class AttentionMaskKind {
  None,   ///< all zero: every query sees every key
  Causal, ///< 0 where key s <= t + (S - T), <= -1e9 (or -inf) elsewhere
  Other,  ///< anything else (padding, sliding window, soft biases, ...)
};

/// Classifies an additive mask that broadcasts to scores [B, H, T, S]
/// (rank <= 4, aligned from the right).
AttentionMaskKind classifyAdditiveMask(const HostTensor &mask,
                                       llvm::ArrayRef<int64_t> scoresShape);

/// The same for a boolean mask (true: the query attends to the key).
AttentionMaskKind classifyBooleanMask(const HostTensor &mask,
                                      llvm::ArrayRef<int64_t> scoresShape);

/// The shortest decimal that reads back as the same f32 value: an eps
/// stored as f32 1e-5 becomes 1e-5 again, as in the model's config.
double shortestF32Decimal(double value);

} // namespace mlir::off

#endif // OFF_TRANSFORMS_ATTENTIONMASK_H
