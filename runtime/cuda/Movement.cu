// Data movement on the GPU: strided gathers (broadcast_to, transpose), slice
// and its gradient, one part of a concat, gather and its gradient (also
// embedding_grad). Elements of any dtype move as 1-, 2-, 4- or 8-byte words.
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

using detail::blocksFor;
using detail::kThreads;

template <typename W> struct Word { using type = W; };

#define OFF_GRID_LOOP(i, n)                                                                  \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n);                 \
       i += int64_t(gridDim.x) * blockDim.x)

template <typename W>
__global__ void stridedKernel(const W *x, IndexMap map, W *y, int64_t n) {
  OFF_GRID_LOOP(i, n) y[i] = x[detail::mapIndex(map, i)];
}

template <typename W>
__global__ void sliceKernel(const W *x, int64_t size, int64_t inner, int64_t start,
                            int64_t count, int64_t step, W *y, int64_t n) {
  OFF_GRID_LOOP(i, n) {
    int64_t in = i % inner, j = (i / inner) % count, o = i / (inner * count);
    y[i] = x[(o * size + start + j * step) * inner + in];
  }
}

template <typename W>
__global__ void sliceGradKernel(const W *dy, int64_t size, int64_t inner, int64_t start,
                                int64_t count, int64_t step, W *dx, int64_t n) {
  OFF_GRID_LOOP(i, n) {
    int64_t in = i % inner, a = (i / inner) % size, o = i / (inner * size);
    int64_t rel = a - start;
    bool hit = rel >= 0 && rel % step == 0 && rel / step < count;
    dx[i] = hit ? dy[(o * count + rel / step) * inner + in] : W(0);
  }
}

template <typename W>
__global__ void concatKernel(const W *x, int64_t size, int64_t inner, int64_t offset,
                             int64_t total, W *y, int64_t n) {
  OFF_GRID_LOOP(i, n) {
    int64_t in = i % inner, j = (i / inner) % size, o = i / (inner * size);
    y[(o * total + offset + j) * inner + in] = x[i];
  }
}

// gather and gather_grad take indices in [-size, size) (negative ones count
// from the end, as the CPU kernels); embedding ids are in [0, vocab).
__device__ inline bool wrapsNegative(DeviceError code) {
  return code == DeviceError::GatherIndex || code == DeviceError::GatherGradIndex;
}

template <typename W>
__global__ void gatherKernel(const W *data, int64_t size, int64_t inner, const void *idx,
                             bool idx64, int64_t count, W *y, int64_t n, int64_t *errors,
                             DeviceError code) {
  OFF_GRID_LOOP(i, n) {
    int64_t in = i % inner, j = (i / inner) % count, o = i / (inner * count);
    int64_t k = detail::loadIndex(idx, idx64, j);
    if (wrapsNegative(code) && k < 0 && k >= -size)
      k += size;
    if (k < 0 || k >= size) {
      detail::reportError(errors, code, j, detail::loadIndex(idx, idx64, j), size);
      y[i] = W(0);
    } else {
      y[i] = data[(o * size + k) * inner + in];
    }
  }
}

// One thread per (o, i) column: zero it, then add rows in index order.
__global__ void gatherGradKernel(const void *idx, bool idx64, int64_t count, const float *dy,
                                 int64_t outer, int64_t size, int64_t inner, float *dd,
                                 int64_t *errors, DeviceError code) {
  OFF_GRID_LOOP(col, outer * inner) {
    int64_t o = col / inner, in = col % inner;
    float *base = dd + o * size * inner + in;
    for (int64_t a = 0; a < size; ++a)
      base[a * inner] = 0.0f;
    const float *g = dy + o * count * inner + in;
    for (int64_t j = 0; j < count; ++j) {
      int64_t k = detail::loadIndex(idx, idx64, j);
      if (wrapsNegative(code) && k < 0 && k >= -size)
        k += size;
      if (k < 0 || k >= size) {
        detail::reportError(errors, code, j, detail::loadIndex(idx, idx64, j), size);
        continue;
      }
      base[k * inner] += g[j * inner];
    }
  }
}

template <template <typename> class Launch, typename... Args>
void byWord(int elemSize, Args &&...args) {
  switch (elemSize) {
  case 1: Launch<uint8_t>::run(args...); break;
  case 2: Launch<uint16_t>::run(args...); break;
  case 4: Launch<uint32_t>::run(args...); break;
  case 8: Launch<uint64_t>::run(args...); break;
  default: throw std::invalid_argument("no CUDA data-movement kernel for elements of " +
                                       std::to_string(elemSize) + " bytes");
  }
}

template <typename W> struct StridedLaunch {
  static void run(const void *x, const IndexMap &map, void *y, int64_t n, cudaStream_t s) {
    stridedKernel<W><<<blocksFor(n), kThreads, 0, s>>>(static_cast<const W *>(x), map,
                                                       static_cast<W *>(y), n);
  }
};
template <typename W> struct SliceLaunch {
  static void run(const void *x, int64_t size, int64_t inner, int64_t start, int64_t count,
                  int64_t step, void *y, int64_t n, cudaStream_t s) {
    sliceKernel<W><<<blocksFor(n), kThreads, 0, s>>>(static_cast<const W *>(x), size, inner,
                                                     start, count, step, static_cast<W *>(y), n);
  }
};
template <typename W> struct SliceGradLaunch {
  static void run(const void *dy, int64_t size, int64_t inner, int64_t start, int64_t count,
                  int64_t step, void *dx, int64_t n, cudaStream_t s) {
    sliceGradKernel<W><<<blocksFor(n), kThreads, 0, s>>>(
        static_cast<const W *>(dy), size, inner, start, count, step, static_cast<W *>(dx), n);
  }
};
template <typename W> struct ConcatLaunch {
  static void run(const void *x, int64_t size, int64_t inner, int64_t offset, int64_t total,
                  void *y, int64_t n, cudaStream_t s) {
    concatKernel<W><<<blocksFor(n), kThreads, 0, s>>>(static_cast<const W *>(x), size, inner,
                                                      offset, total, static_cast<W *>(y), n);
  }
};
template <typename W> struct GatherLaunch {
  static void run(const void *data, int64_t size, int64_t inner, const void *idx, bool idx64,
                  int64_t count, void *y, int64_t n, int64_t *errors, DeviceError code,
                  cudaStream_t s) {
    gatherKernel<W><<<blocksFor(n), kThreads, 0, s>>>(static_cast<const W *>(data), size, inner,
                                                      idx, idx64, count, static_cast<W *>(y), n,
                                                      errors, code);
  }
};

} // namespace

void launchGatherStrided(const void *x, const IndexMap &map, void *y, int64_t n, int elemSize,
                         cudaStream_t s) {
  if (n == 0)
    return;
  byWord<StridedLaunch>(elemSize, x, map, y, n, s);
  detail::checkLaunch("strided copy");
}

void launchSlice(const void *x, int64_t outer, int64_t size, int64_t inner, int64_t start,
                 int64_t count, int64_t step, void *y, int elemSize, cudaStream_t s) {
  int64_t n = outer * count * inner;
  if (n == 0)
    return;
  byWord<SliceLaunch>(elemSize, x, size, inner, start, count, step, y, n, s);
  detail::checkLaunch("slice");
}

void launchSliceGrad(const void *dy, int64_t outer, int64_t size, int64_t inner,
                     int64_t start, int64_t count, int64_t step, void *dx, int elemSize,
                     cudaStream_t s) {
  int64_t n = outer * size * inner;
  if (n == 0)
    return;
  byWord<SliceGradLaunch>(elemSize, dy, size, inner, start, count, step, dx, n, s);
  detail::checkLaunch("slice_grad");
}

void launchConcatPart(const void *x, int64_t outer, int64_t size, int64_t inner,
                      int64_t offset, int64_t total, void *y, int elemSize, cudaStream_t s) {
  int64_t n = outer * size * inner;
  if (n == 0)
    return;
  byWord<ConcatLaunch>(elemSize, x, size, inner, offset, total, y, n, s);
  detail::checkLaunch("concat");
}

void launchGather(const void *data, int64_t outer, int64_t size, int64_t inner,
                  const void *idx, bool idx64, int64_t count, void *y, int elemSize,
                  int64_t *errors, DeviceError code, cudaStream_t s) {
  int64_t n = outer * count * inner;
  if (n == 0)
    return;
  byWord<GatherLaunch>(elemSize, data, size, inner, idx, idx64, count, y, n, errors, code, s);
  detail::checkLaunch("gather");
}

void launchGatherGrad(const void *idx, bool idx64, int64_t count, const float *dy,
                      int64_t outer, int64_t size, int64_t inner, float *dd,
                      int64_t *errors, DeviceError code, cudaStream_t s) {
  int64_t columns = outer * inner;
  if (columns == 0)
    return;
  gatherGradKernel<<<blocksFor(columns, 128), 128, 0, s>>>(idx, idx64, count, dy, outer, size,
                                                           inner, dd, errors, code);
  detail::checkLaunch("gather_grad");
}

} // namespace off::cuda
