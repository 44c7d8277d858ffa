// Shape arithmetic shared by the CPU kernels: element counts, NumPy
// broadcasting, and the [outer, axis, inner] view of a tensor around one axis.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::cpu {

/// The most dimensions a CPU kernel handles (a larger rank is refused when
/// the kernel is validated).
constexpr size_t kMaxRank = 16;

/// A shape or a list of strides, held inline (at most kMaxRank entries):
/// what kernels compute while they run allocates nothing. Reads as a span.
class Shape {
public:
  Shape() = default;
  Shape(size_t n, int64_t value) { assign(n, value); }
  Shape(std::initializer_list<int64_t> values) : Shape(values.begin(), values.end()) {}
  Shape(std::span<const int64_t> values) : Shape(values.begin(), values.end()) {}
  Shape(const std::vector<int64_t> &values) : Shape(values.begin(), values.end()) {}
  template <typename It> Shape(It first, It last) {
    for (; first != last; ++first)
      push_back(*first);
  }

  void assign(size_t n, int64_t value) {
    check(n);
    size_ = n;
    std::fill(values_.begin(), values_.begin() + n, value);
  }
  void push_back(int64_t value) {
    check(size_ + 1);
    values_[size_++] = value;
  }
  void pop_back() { --size_; }
  void clear() { size_ = 0; }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t &operator[](size_t i) { return values_[i]; }
  int64_t operator[](size_t i) const { return values_[i]; }
  int64_t &back() { return values_[size_ - 1]; }
  int64_t back() const { return values_[size_ - 1]; }
  int64_t *data() { return values_.data(); }
  const int64_t *data() const { return values_.data(); }
  int64_t *begin() { return values_.data(); }
  int64_t *end() { return values_.data() + size_; }
  const int64_t *begin() const { return values_.data(); }
  const int64_t *end() const { return values_.data() + size_; }
  operator std::span<const int64_t>() const { return {values_.data(), size_}; }
  std::vector<int64_t> vector() const { return {begin(), end()}; }
  bool operator==(const Shape &other) const {
    return std::equal(begin(), end(), other.begin(), other.end());
  }

private:
  static void check(size_t n) {
    if (n > kMaxRank)
      throw std::invalid_argument("rank " + std::to_string(n) + " is over the CPU kernels' " +
                                  "limit of " + std::to_string(kMaxRank));
  }
  std::array<int64_t, kMaxRank> values_{};
  size_t size_ = 0;
};

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
/// Operands one BroadcastLoop walks at most.
constexpr size_t kMaxLoopOperands = 4;

struct BroadcastLoop {
  Shape dims;
  std::array<Shape, kMaxLoopOperands> strides;

  int64_t inner() const { return dims.empty() ? 1 : dims.back(); }
  int64_t rows() const;
  /// Element offset of operand k at the start of inner row `row`.
  int64_t rowOffset(size_t k, int64_t row) const;
};
BroadcastLoop makeBroadcastLoop(std::span<const int64_t> out,
                                std::span<const std::span<const int64_t>> operands);

} // namespace off::cpu
