//===- AttentionMask.cpp - what a constant attention mask means -----------===//

#include "dialects/off/Transforms/AttentionMask.h"

#include "llvm/ADT/SmallVector.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace mlir::off;

namespace {

/// Calls `visible(value, keyVisibleCausally)` for every (slice, t, s) of a
/// mask broadcast to [B, H, T, S]; false when the shapes do not broadcast.
template <typename Fn>
bool forEachScore(const HostTensor &mask, ArrayRef<int64_t> scores, Fn fn) {
  if (mask.getRank() > 4 || scores.size() != 4)
    return false;
  SmallVector<int64_t> shape(4 - mask.getRank(), 1);
  llvm::append_range(shape, mask.getShape());
  for (int64_t d = 0; d < 4; ++d)
    if (shape[d] != 1 && shape[d] != scores[d])
      return false;
  int64_t t = scores[2], s = scores[3];
  int64_t slices = shape[0] * shape[1];
  for (int64_t slice = 0; slice < slices; ++slice)
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < s; ++j) {
        int64_t at = slice * shape[2] * shape[3] + (shape[2] == 1 ? 0 : i) * shape[3] +
                     (shape[3] == 1 ? 0 : j);
        fn(at, j <= i + (s - t));
      }
  return true;
}

} // namespace

AttentionMaskKind mlir::off::classifyAdditiveMask(const HostTensor &mask,
                                                  ArrayRef<int64_t> scores) {
  bool allZero = true, causal = scores.size() == 4 && scores[2] <= scores[3];
  bool fits = forEachScore(mask, scores, [&](int64_t at, bool visible) {
    double v = mask.getFloat(at);
    allZero &= v == 0.0;
    causal &= visible ? v == 0.0 : v <= -1e9;
  });
  if (!fits)
    return AttentionMaskKind::Other;
  if (allZero)
    return AttentionMaskKind::None;
  return causal ? AttentionMaskKind::Causal : AttentionMaskKind::Other;
}

AttentionMaskKind mlir::off::classifyBooleanMask(const HostTensor &mask,
                                                 ArrayRef<int64_t> scores) {
  bool allTrue = true, causal = scores.size() == 4 && scores[2] <= scores[3];
  bool fits = forEachScore(mask, scores, [&](int64_t at, bool visible) {
    bool attends = mask.getInt(at) != 0;
    allTrue &= attends;
    causal &= attends == visible;
  });
  if (!fits)
    return AttentionMaskKind::Other;
  if (allTrue)
    return AttentionMaskKind::None;
  return causal ? AttentionMaskKind::Causal : AttentionMaskKind::Other;
}

double mlir::off::shortestF32Decimal(double value) {
  float target = static_cast<float>(value);
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, static_cast<double>(target));
    if (std::strtof(text, nullptr) == target)
      return std::strtod(text, nullptr);
  }
  return value;
}
