#include "runtime/cpu/Shape.h"

#include <algorithm>

namespace off::cpu {

int64_t numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

bool broadcastShapes(std::span<const int64_t> a, std::span<const int64_t> b, Shape &out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return false;
    out[i] = da == 1 ? db : da;
  }
  return true;
}

bool broadcastsTo(std::span<const int64_t> in, std::span<const int64_t> out) {
  if (in.size() > out.size())
    return false;
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != 1 && in[i] != out[lead + i])
      return false;
  return true;
}

AxisView axisView(std::span<const int64_t> shape, int64_t axis) {
  AxisView view;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d < axis)
      view.outer *= shape[size_t(d)];
    else if (d == axis)
      view.size = shape[size_t(d)];
    else
      view.inner *= shape[size_t(d)];
  }
  return view;
}

int64_t BroadcastLoop::rows() const {
  int64_t n = 1;
  for (size_t d = 0; d + 1 < dims.size(); ++d)
    n *= dims[d];
  return n;
}

int64_t BroadcastLoop::rowOffset(size_t k, int64_t row) const {
  int64_t offset = 0;
  // Unravel `row` over dims[0 .. n-2], last varying fastest.
  for (size_t d = dims.size() - 1; d-- > 0;) {
    int64_t index = row % dims[d];
    row /= dims[d];
    offset += index * strides[k][d];
  }
  return offset;
}

BroadcastLoop makeBroadcastLoop(std::span<const int64_t> out,
                                std::span<const std::span<const int64_t>> operands) {
  size_t rank = out.size();
  // Per operand, the stride of each output dimension (0 where broadcast).
  if (operands.size() > kMaxLoopOperands)
    throw std::invalid_argument("a broadcast loop over more than 4 operands");
  std::array<Shape, kMaxLoopOperands> full;
  for (size_t k = 0; k < operands.size(); ++k)
    full[k].assign(rank, 0);
  for (size_t k = 0; k < operands.size(); ++k) {
    std::span<const int64_t> in = operands[k];
    size_t lead = rank - in.size();
    int64_t stride = 1;
    for (size_t i = in.size(); i-- > 0;) {
      full[k][lead + i] = in[i] == 1 ? 0 : stride;
      stride *= in[i];
    }
  }
  BroadcastLoop loop;
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1)
      continue; // a size-1 dimension never moves any operand
    bool merge = !loop.dims.empty();
    for (size_t k = 0; merge && k < operands.size(); ++k)
      merge = loop.strides[k].back() == full[k][d] * out[d];
    if (merge) {
      loop.dims.back() *= out[d];
      for (size_t k = 0; k < operands.size(); ++k)
        loop.strides[k].back() = full[k][d];
    } else {
      loop.dims.push_back(out[d]);
      for (size_t k = 0; k < operands.size(); ++k)
        loop.strides[k].push_back(full[k][d]);
    }
  }
  if (loop.dims.empty()) { // a single element
    loop.dims.push_back(1);
    for (size_t k = 0; k < operands.size(); ++k)
      loop.strides[k].push_back(0);
  }
  return loop;
}

} // namespace off::cpu
