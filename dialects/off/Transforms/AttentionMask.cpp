//===- AttentionMask.cpp - what a constant attention mask means -----------===//

#include "dialects/off/Transforms/AttentionMask.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cmath>
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

bool mlir::off::isAdditiveMaskValues(ArrayRef<int64_t> shape,
                                     llvm::function_ref<double(int64_t)> at) {
  if (shape.size() < 2)
    return false;
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  bool masked = false;
  for (int64_t i = 0; i < count; ++i) {
    double v = at(i);
    if (v <= -1e9)
      masked = true;
    else if (v != 0.0)
      return false;
  }
  return masked;
}

bool mlir::off::isRotaryTableValues(ArrayRef<int64_t> shape,
                                    llvm::function_ref<double(int64_t)> at) {
  if (shape.size() < 2)
    return false;
  int64_t t = shape[shape.size() - 2], d = shape.back();
  if (t < 2 || d < 2 || d % 2 != 0)
    return false;
  int64_t slices = 1;
  for (int64_t dim : shape.drop_back(2))
    slices *= dim;
  // Row 0 decides: cos (all ones) or sin (all zeros).
  double first = at(0);
  if (first != 1.0 && first != 0.0)
    return false;
  bool isCos = first == 1.0;
  for (int64_t j = 0; j < d; ++j)
    if (at(j) != first)
      return false;
  int64_t half = d / 2;
  bool anyFrequency = false;
  for (int64_t j = 0; j < half; ++j) {
    double c1 = at(d + j);
    if (!(c1 >= -1.0 && c1 <= 1.0))
      return false;
    // cos(f) from row 1: f in (0, pi/2] means cos(f) in [0, 1).
    double cosF = isCos ? c1 : std::sqrt(std::max(0.0, 1.0 - c1 * c1));
    if (!(c1 >= 0.0))
      return false;
    anyFrequency |= isCos ? c1 != 1.0 : c1 != 0.0;
    for (int64_t row = 0; row < t; ++row) {
      double v = at(row * d + j);
      if (v != at(row * d + j + half) || !(v >= -1.0 && v <= 1.0))
        return false;
      if (row >= 2) {
        double predicted = 2.0 * cosF * at((row - 1) * d + j) - at((row - 2) * d + j);
        if (std::abs(v - predicted) > 1e-6 + 1e-6 * static_cast<double>(row))
          return false;
      }
    }
  }
  if (!anyFrequency)
    return false;
  for (int64_t s = 1; s < slices; ++s)
    for (int64_t i = 0; i < t * d; ++i)
      if (at(s * t * d + i) != at(i))
        return false;
  return true;
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
