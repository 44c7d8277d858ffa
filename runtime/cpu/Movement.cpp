#include "runtime/cpu/Movement.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Shape.h"
#include "runtime/common/Float16.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::cpu {

namespace {

using Bytes = std::byte;

// Copies one element of `size` bytes; the common sizes get fixed-size
// memcpy calls that compile to single moves.
inline void copyElement(Bytes *dst, const Bytes *src, size_t size) {
  switch (size) {
  case 2: std::memcpy(dst, src, 2); break;
  case 4: std::memcpy(dst, src, 4); break;
  case 8: std::memcpy(dst, src, 8); break;
  default: std::memcpy(dst, src, size);
  }
}

} // namespace

void transpose(const void *x, std::span<const int64_t> xShape, std::span<const int64_t> perm,
               void *y, size_t elementSize) {
  size_t rank = xShape.size();
  if (numel(xShape) == 0)
    return;
  Shape inStride(rank, 1);
  for (size_t i = rank; i-- > 1;)
    inStride[i - 1] = inStride[i] * xShape[i];
  // Output dims (skipping size 1), merged where the input is contiguous
  // across them: outSize[d] with input stride outStride[d].
  Shape outSize, outStride;
  for (size_t i = 0; i < rank; ++i) {
    int64_t size = xShape[size_t(perm[i])], stride = inStride[size_t(perm[i])];
    if (size == 1)
      continue;
    if (!outSize.empty() && outStride.back() == stride * size) {
      outSize.back() *= size;
      outStride.back() = stride;
    } else {
      outSize.push_back(size);
      outStride.push_back(stride);
    }
  }
  if (outSize.empty()) {
    outSize.push_back(1);
    outStride.push_back(1);
  }
  int64_t inner = outSize.back(), innerStride = outStride.back();
  int64_t rows = numel(outSize) / inner;
  const auto *src = static_cast<const Bytes *>(x);
  auto *dst = static_cast<Bytes *>(y);
  int64_t es = int64_t(elementSize);
  parallelRange(rows, inner, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      int64_t offset = 0, r = row;
      for (size_t d = outSize.size() - 1; d-- > 0;) {
        offset += (r % outSize[d]) * outStride[d];
        r /= outSize[d];
      }
      Bytes *out = dst + row * inner * es;
      const Bytes *in = src + offset * es;
      if (innerStride == 1) {
        std::memcpy(out, in, size_t(inner * es));
      } else {
        for (int64_t j = 0; j < inner; ++j)
          copyElement(out + j * es, in + j * innerStride * es, elementSize);
      }
    }
  });
}

int64_t sliceLength(int64_t start, int64_t end, int64_t step) {
  return end <= start ? 0 : (end - start + step - 1) / step;
}

void slice(const void *x, int64_t O, int64_t A, int64_t I, int64_t start, int64_t end,
           int64_t step, void *y, size_t elementSize) {
  int64_t L = sliceLength(start, end, step), es = int64_t(elementSize);
  const auto *src = static_cast<const Bytes *>(x);
  auto *dst = static_cast<Bytes *>(y);
  parallelRange(O * L, I, [&](int64_t begin, int64_t endRow) {
    for (int64_t r = begin; r < endRow; ++r) {
      int64_t o = r / L, l = r % L;
      std::memcpy(dst + r * I * es, src + (o * A + start + l * step) * I * es, size_t(I * es));
    }
  });
}

void sliceGrad(const void *dy, int64_t O, int64_t A, int64_t I, int64_t start, int64_t end,
               int64_t step, void *dx, size_t elementSize) {
  int64_t L = sliceLength(start, end, step), es = int64_t(elementSize);
  const auto *src = static_cast<const Bytes *>(dy);
  auto *dst = static_cast<Bytes *>(dx);
  parallelRange(O * A, I, [&](int64_t begin, int64_t endRow) {
    for (int64_t r = begin; r < endRow; ++r) {
      int64_t o = r / A, a = r % A;
      Bytes *out = dst + r * I * es;
      int64_t l = (a - start) / step;
      if (a >= start && a < end && (a - start) % step == 0 && l < L)
        std::memcpy(out, src + (o * L + l) * I * es, size_t(I * es));
      else
        std::memset(out, 0, size_t(I * es)); // all-zero bits: 0.0 in every float type
    }
  });
}

void concat(std::span<const void *const> inputs, std::span<const int64_t> sizes, int64_t O,
            int64_t I, void *y, size_t elementSize) {
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  int64_t es = int64_t(elementSize);
  auto *dst = static_cast<Bytes *>(y);
  parallelRange(O, total * I, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      Bytes *out = dst + o * total * I * es;
      for (size_t k = 0; k < inputs.size(); ++k) {
        size_t bytes = size_t(sizes[k] * I * es);
        std::memcpy(out, static_cast<const Bytes *>(inputs[k]) + o * int64_t(bytes), bytes);
        out += bytes;
      }
    }
  });
}

namespace {
// Resolves ONNX-style indices (negative counts from the end) into [0, A),
// checking all of them first so that the error names the first bad one.
template <typename Index>
std::vector<int64_t> resolveIndices(const Index *indices, int64_t N, int64_t A) {
  std::vector<int64_t> resolved(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    int64_t index = int64_t(indices[n]);
    if (index < -A || index >= A)
      throw std::out_of_range("index " + std::to_string(index) + " at position " +
                              std::to_string(n) + " is outside [-" + std::to_string(A) +
                              ", " + std::to_string(A) + ")");
    resolved[size_t(n)] = index < 0 ? index + A : index;
  }
  return resolved;
}
} // namespace

template <typename Index>
void gather(const void *data, int64_t O, int64_t A, int64_t I, const Index *indices, int64_t N,
            void *y, size_t elementSize) {
  std::vector<int64_t> index = resolveIndices(indices, N, A);
  int64_t es = int64_t(elementSize);
  const auto *src = static_cast<const Bytes *>(data);
  auto *dst = static_cast<Bytes *>(y);
  parallelRange(O * N, I, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t o = r / N, n = r % N;
      std::memcpy(dst + r * I * es, src + (o * A + index[size_t(n)]) * I * es, size_t(I * es));
    }
  });
}

template <typename Index>
void gatherGrad(const Index *indices, int64_t N, const float *dy, int64_t O, int64_t A,
                int64_t I, float *dData) {
  std::vector<int64_t> index = resolveIndices(indices, N, A);
  // Units of (o, a run of 16 inner elements): each unit owns its output
  // columns and adds the positions n in order.
  constexpr int64_t kRun = 16;
  int64_t runs = (I + kRun - 1) / kRun;
  parallelRange(O * runs, N * kRun + A * kRun, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      int64_t o = u / runs, i0 = (u % runs) * kRun, i1 = std::min(I, i0 + kRun);
      float *out = dData + o * A * I;
      for (int64_t a = 0; a < A; ++a)
        for (int64_t i = i0; i < i1; ++i)
          out[a * I + i] = 0.0f;
      const float *in = dy + o * N * I;
      for (int64_t n = 0; n < N; ++n) {
        float *row = out + index[size_t(n)] * I;
        const float *g = in + n * I;
        for (int64_t i = i0; i < i1; ++i)
          row[i] += g[i];
      }
    }
  });
}

template void gather<int32_t>(const void *, int64_t, int64_t, int64_t, const int32_t *, int64_t,
                              void *, size_t);
template void gather<int64_t>(const void *, int64_t, int64_t, int64_t, const int64_t *, int64_t,
                              void *, size_t);
template void gatherGrad<int32_t>(const int32_t *, int64_t, const float *, int64_t, int64_t,
                                  int64_t, float *);
template void gatherGrad<int64_t>(const int64_t *, int64_t, const float *, int64_t, int64_t,
                                  int64_t, float *);

void castF32ToBf16(const float *x, uint16_t *y, int64_t N) {
  parallelRange(N, 2, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = floatToBf16(x[i]);
  });
}

void castBf16ToF32(const uint16_t *x, float *y, int64_t N) {
  parallelRange(N, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = bf16ToFloat(x[i]);
  });
}

void castI32ToI64(const int32_t *x, int64_t *y, int64_t N) {
  for (int64_t i = 0; i < N; ++i)
    y[i] = x[i];
}

void castI64ToI32(const int64_t *x, int32_t *y, int64_t N) {
  for (int64_t i = 0; i < N; ++i) {
    if (x[i] < INT32_MIN || x[i] > INT32_MAX)
      throw std::out_of_range("value " + std::to_string(x[i]) + " at position " +
                              std::to_string(i) + " does not fit i32");
    y[i] = int32_t(x[i]);
  }
}

template <typename Int> void castIntToF32(const Int *x, float *y, int64_t N) {
  for (int64_t i = 0; i < N; ++i)
    y[i] = float(x[i]);
}
template void castIntToF32<int32_t>(const int32_t *, float *, int64_t);
template void castIntToF32<int64_t>(const int64_t *, float *, int64_t);

void copyBytes(const void *x, void *y, int64_t N) {
  if (x == y || N == 0)
    return;
  constexpr int64_t kChunk = 1 << 16;
  parallelRange((N + kChunk - 1) / kChunk, kChunk / 4, [&](int64_t begin, int64_t end) {
    int64_t from = begin * kChunk, to = std::min(N, end * kChunk);
    std::memcpy(static_cast<Bytes *>(y) + from, static_cast<const Bytes *>(x) + from,
                size_t(to - from));
  });
}

} // namespace off::cpu
