#include "runtime/cpu/Reduce.h"

#include "runtime/common/Float16.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Dot.h"
#include "runtime/cpu/RowMath.h"
#include "runtime/cpu/Shape.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace off::cpu {

namespace {

// The input with size-1 dimensions dropped and neighbours of the same kind
// (both reduced or both kept) merged.
struct MergedDims {
  std::vector<int64_t> size, stride; // input element strides
  std::vector<bool> reduced;
};

MergedDims mergeDims(std::span<const int64_t> shape, std::span<const int64_t> axes) {
  std::vector<bool> isReduced(shape.size(), false);
  for (int64_t a : axes)
    isReduced[size_t(a)] = true;
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * shape[i];
  MergedDims m;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (!m.size.empty() && m.reduced.back() == isReduced[d]) {
      m.size.back() *= shape[d];
      m.stride.back() = strides[d];
    } else {
      m.size.push_back(shape[d]);
      m.stride.push_back(strides[d]);
      m.reduced.push_back(isReduced[d]);
    }
  }
  return m;
}

// Visits the input offsets of the reduced index space in row-major order.
struct Odometer {
  std::vector<int64_t> size, stride, index;
  int64_t offset = 0;
  explicit Odometer(std::vector<int64_t> s, std::vector<int64_t> st)
      : size(std::move(s)), stride(std::move(st)), index(size.size(), 0) {}
  // Advances; false after the last position.
  bool next() {
    for (size_t d = size.size(); d-- > 0;) {
      if (++index[d] < size[d]) {
        offset += stride[d];
        return true;
      }
      offset -= (size[d] - 1) * stride[d];
      index[d] = 0;
    }
    return false;
  }
};

template <ReduceOp Op> struct Acc {
  double value = Op == ReduceOp::Max ? -std::numeric_limits<double>::infinity() : 0.0;
  void add(float x) {
    if constexpr (Op == ReduceOp::Max)
      value = (double(x) > value || std::isnan(x)) ? double(x) : value;
    else
      value += double(x);
  }
  float result(int64_t count) const {
    if constexpr (Op == ReduceOp::Mean)
      return float(value / double(count));
    else
      return float(value);
  }
};

template <ReduceOp Op>
void reduceImpl(const float *x, std::span<const int64_t> xShape, std::span<const int64_t> axes,
                float *y) {
  MergedDims m = mergeDims(xShape, axes);
  std::vector<int64_t> keptSize, keptStride, redSize, redStride;
  for (size_t d = 0; d < m.size.size(); ++d) {
    (m.reduced[d] ? redSize : keptSize).push_back(m.size[d]);
    (m.reduced[d] ? redStride : keptStride).push_back(m.stride[d]);
  }
  int64_t reducedCount = numel(redSize), outCount = numel(keptSize);
  if (outCount == 0)
    return;
  // Input offset of output element o (unravel over the kept dims).
  auto baseOffset = [&](int64_t o) {
    int64_t offset = 0;
    for (size_t d = keptSize.size(); d-- > 0;) {
      offset += (o % keptSize[d]) * keptStride[d];
      o /= keptSize[d];
    }
    return offset;
  };
  if (reducedCount == 1) { // only size-1 axes: the layout does not change
    std::memcpy(y, x, size_t(outCount) * sizeof(float));
    return;
  }
  bool innerKept = !m.size.empty() && !m.reduced.back();
  if (innerKept && reducedCount > 1) {
    // The last dimension is kept and contiguous: reduce whole rows of it at
    // once (same per-element order: row-major over the reduced indices).
    int64_t L = keptSize.back();
    int64_t rows = outCount / L;
    parallelRange(rows, reducedCount * L, [&](int64_t begin, int64_t end) {
      std::vector<Acc<Op>> acc(static_cast<size_t>(L));
      for (int64_t r = begin; r < end; ++r) {
        std::fill(acc.begin(), acc.end(), Acc<Op>{});
        int64_t base = baseOffset(r * L);
        Odometer odo(redSize, redStride);
        do {
          const float *row = x + base + odo.offset;
          for (int64_t j = 0; j < L; ++j)
            acc[size_t(j)].add(row[j]);
        } while (odo.next());
        for (int64_t j = 0; j < L; ++j)
          y[r * L + j] = acc[size_t(j)].result(reducedCount);
      }
    });
    return;
  }
  parallelRange(outCount, reducedCount, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      Acc<Op> acc;
      int64_t base = baseOffset(o);
      Odometer odo(redSize, redStride);
      do
        acc.add(x[base + odo.offset]);
      while (odo.next());
      y[o] = acc.result(reducedCount);
    }
  });
}

} // namespace

void reduce(ReduceOp op, const float *x, std::span<const int64_t> xShape,
            std::span<const int64_t> axes, float *y) {
  switch (op) {
  case ReduceOp::Sum: return reduceImpl<ReduceOp::Sum>(x, xShape, axes, y);
  case ReduceOp::Mean: return reduceImpl<ReduceOp::Mean>(x, xShape, axes, y);
  case ReduceOp::Max: return reduceImpl<ReduceOp::Max>(x, xShape, axes, y);
  }
}

void softmax(const float *x, float *y, int64_t O, int64_t A, int64_t I, float *scratch) {
  if (A == 0)
    return;
  parallelSlots(O * I, A * 25, [&](int64_t begin, int64_t end, int64_t slot) {
    float *row = I == 1 ? nullptr : scratch + slot * A;
    for (int64_t r = begin; r < end; ++r) {
      int64_t o = r / I, i = r % I;
      const float *in = x + o * A * I + i;
      float *out = y + o * A * I + i;
      if (I == 1) {
        float max = detail::rowMax(in, A);
        double sum = detail::expShifted(in, max, out, A);
        float inv = float(1.0 / sum);
        for (int64_t a = 0; a < A; ++a)
          out[a] *= inv;
      } else { // strided: gather the row, same arithmetic
        for (int64_t a = 0; a < A; ++a)
          row[a] = in[a * I];
        float max = detail::rowMax(row, A);
        double sum = detail::expShifted(row, max, row, A);
        float inv = float(1.0 / sum);
        for (int64_t a = 0; a < A; ++a)
          out[a * I] = row[a] * inv;
      }
    }
  });
}

void softmaxGrad(const float *y, const float *dy, float *dx, int64_t O, int64_t A, int64_t I,
                 float *scratch) {
  parallelSlots(O * I, A * 4, [&](int64_t begin, int64_t end, int64_t slot) {
    float *ys = I == 1 ? nullptr : scratch + slot * 2 * A, *dys = ys ? ys + A : nullptr;
    for (int64_t r = begin; r < end; ++r) {
      int64_t base = (r / I) * A * I + r % I;
      float d;
      if (I == 1) {
        d = float(dotLanes(dy + base, y + base, A));
      } else { // strided: gather the rows, same arithmetic
        for (int64_t a = 0; a < A; ++a) {
          ys[a] = y[base + a * I];
          dys[a] = dy[base + a * I];
        }
        d = float(dotLanes(dys, ys, A));
      }
      for (int64_t a = 0; a < A; ++a)
        dx[base + a * I] = y[base + a * I] * (dy[base + a * I] - d);
    }
  });
}

namespace {

// Block `start .. start + n` of x: dotLanes(x, x) in double. A bf16 block is
// widened exactly, so it adds what its f32 cast would. The buffer is sized
// once per thread (no allocation after the first step).
double blockSumOfSquares(const backend::TensorArg &x, int64_t start, int64_t n) {
  if (x.dtype != DType::BF16) {
    const float *p = x.as<float>() + start;
    return dotLanes(p, p, n);
  }
  thread_local std::vector<float> widened;
  widened.resize(size_t(kNormBlock));
  const uint16_t *p = static_cast<const uint16_t *>(x.data) + start;
  for (int64_t i = 0; i < n; ++i)
    widened[size_t(i)] = bf16ToFloat(p[i]);
  return dotLanes(widened.data(), widened.data(), n);
}

int64_t blocksOf(const backend::TensorArg &x) {
  return (x.numel() + kNormBlock - 1) / kNormBlock;
}

} // namespace

float globalNorm(std::span<const backend::TensorArg> tensors, double *partial) {
  // Every block of every tensor, in order; block sums computed in parallel,
  // added in order.
  int64_t blocks = globalNormBlocks(tensors);
  parallelRange(blocks, 2 * kNormBlock, [&](int64_t begin, int64_t end) {
    // The tensor and block `begin` falls in, then onwards.
    size_t t = 0;
    int64_t first = 0; // index of tensor t's first block
    while (first + blocksOf(tensors[t]) <= begin)
      first += blocksOf(tensors[t++]);
    for (int64_t b = begin; b < end; ++b) {
      while (b - first >= blocksOf(tensors[t]))
        first += blocksOf(tensors[t++]);
      int64_t start = (b - first) * kNormBlock;
      partial[b] = blockSumOfSquares(tensors[t], start,
                                     std::min(kNormBlock, tensors[t].numel() - start));
    }
  });
  double total = 0.0;
  for (int64_t b = 0; b < blocks; ++b)
    total += partial[b];
  return float(std::sqrt(total));
}

void normPartial(const backend::TensorArg &x, double *partial) {
  parallelRange(blocksOf(x), 2 * kNormBlock, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int64_t start = b * kNormBlock;
      partial[b] = blockSumOfSquares(x, start, std::min(kNormBlock, x.numel() - start));
    }
  });
}

float normCombine(std::span<const backend::TensorArg> partials) {
  double total = 0.0;
  for (const backend::TensorArg &p : partials) {
    const double *sums = p.as<double>();
    for (int64_t b = 0; b < p.numel(); ++b)
      total += sums[b];
  }
  return float(std::sqrt(total));
}

} // namespace off::cpu
