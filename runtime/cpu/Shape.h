// Shape arithmetic shared by the CPU kernels: element counts, NumPy
// broadcasting, and the [outer, axis, inner] view of a tensor around one axis.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace off::cpu {

using Shape = std::vector<int64_t>;

int64_t numel(std::span<const int64_t> shape);

/// NumPy broadcasting (aligned from the right, size 1 stretches). Returns
/// false when some pair of dimensions is incompatible.
bool broadcastShapes(std::span<const int64_t> a, std::span<const int64_t> b, Shape &out);

/// True when `in` broadcasts to exactly `out`.
bool broadcastsTo(std::span<const int64_t> in, std::span<const int64_t> out);

/// A tensor seen as [outer, size, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, size = 1, inner = 1;
};
AxisView axisView(std::span<const int64_t> shape, int64_t axis);

/// An iteration over an output of shape `out` that reads operands which
/// broadcast to it. Dimensions are merged where every operand is contiguous
/// across them, so `dims` is as short as possible; `strides[k][d]` is the
/// element stride of operand k along merged dimension d (0 where broadcast).
/// The last merged dimension is the inner loop; rows() counts the others.
struct BroadcastLoop {
  Shape dims;
  std::vector<Shape> strides;

  int64_t inner() const { return dims.empty() ? 1 : dims.back(); }
  int64_t rows() const;
  /// Element offset of operand k at the start of inner row `row`.
  int64_t rowOffset(size_t k, int64_t row) const;
};
BroadcastLoop makeBroadcastLoop(std::span<const int64_t> out,
                                std::span<const std::span<const int64_t>> operands);

} // namespace off::cpu
