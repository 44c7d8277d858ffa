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
#include "llvm/ADT/STLFunctionalExtras.h"

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

/// True when a floating-point tensor (elements by `at`, row-major over
/// `shape`) is an additive attention mask: rank >= 2, every element 0 or
/// <= -1e9 (or -inf), at least one of them masked. Such a tensor depends on
/// nothing but shapes (a weight never holds -1e9). Stops at the first
/// element that fails.
bool isAdditiveMaskValues(llvm::ArrayRef<int64_t> shape,
                          llvm::function_ref<double(int64_t)> at);

/// True when a floating-point tensor is a rotary (RoPE) table: its last two
/// dimensions are [T >= 2, D even], every leading slice is the same, both
/// halves of each row are equal, and column j is cos(t * f_j) (row 0 all
/// ones) or sin(t * f_j) (row 0 all zeros) for t = 0..T-1 with frequencies
/// f_j in (0, pi/2], not all of them 0; checked through the recurrence
/// c[t+1] + c[t-1] = 2 cos(f_j) c[t] within f32 rounding of the angles
/// (1e-6 + 1e-6 * t). Stops at the first element that fails, so a weight
/// costs a few reads.
bool isRotaryTableValues(llvm::ArrayRef<int64_t> shape,
                         llvm::function_ref<double(int64_t)> at);

/// The shortest decimal that reads back as the same f32 value: an eps
/// stored as f32 1e-5 becomes 1e-5 again, as in the model's config.
double shortestF32Decimal(double value);

} // namespace mlir::off

#endif // OFF_TRANSFORMS_ATTENTIONMASK_H
