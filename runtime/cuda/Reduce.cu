// Reductions on the GPU: reduce_sum/mean/max over any axes, softmax and its
// gradient along one axis, global_norm over many tensors, norm_partial and
// norm_combine (the CPU's bits, see below). One block per
// output (row); each thread walks its stride of the reduced elements, then
// the block adds the threads' partial sums in a fixed tree (detail::blockSum)
// in double: the same bits on every run (deterministic).
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

using detail::blockSum;

constexpr int kReduceThreads = 256;

__global__ void reduceKernel(ReduceKind op, const float *x, IndexMap kept, IndexMap reduced,
                             int64_t reducedCount, float *y, int64_t keptCount) {
  __shared__ double shared[32];
  __shared__ float sharedMax[32];
  for (int64_t o = blockIdx.x; o < keptCount; o += gridDim.x) {
    const float *base = x + detail::mapIndex(kept, o);
    if (op == ReduceKind::Max) {
      float m = -INFINITY;
      bool nan = false;
      for (int64_t r = threadIdx.x; r < reducedCount; r += blockDim.x) {
        float v = base[detail::mapIndex(reduced, r)];
        nan |= isnan(v);
        m = fmaxf(m, v);
      }
      double nans = blockSum(nan ? 1.0 : 0.0, shared);
      m = detail::blockMax(m, sharedMax);
      if (threadIdx.x == 0)
        y[o] = nans > 0 ? NAN : m;
    } else {
      double sum = 0.0;
      for (int64_t r = threadIdx.x; r < reducedCount; r += blockDim.x)
        sum += double(base[detail::mapIndex(reduced, r)]);
      sum = blockSum(sum, shared);
      if (threadIdx.x == 0)
        y[o] = op == ReduceKind::Mean ? float(sum / double(reducedCount)) : float(sum);
    }
  }
}

__global__ void softmaxKernel(const float *x, float *y, int64_t size, int64_t inner,
                              int64_t rows) {
  __shared__ double shared[32];
  __shared__ float sharedMax[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t base = (row / inner) * size * inner + row % inner;
    float m = -INFINITY;
    for (int64_t a = threadIdx.x; a < size; a += blockDim.x)
      m = fmaxf(m, x[base + a * inner]);
    m = detail::blockMax(m, sharedMax);
    double sum = 0.0;
    for (int64_t a = threadIdx.x; a < size; a += blockDim.x)
      sum += double(expf(x[base + a * inner] - m));
    sum = blockSum(sum, shared);
    float inv = float(1.0 / sum);
    for (int64_t a = threadIdx.x; a < size; a += blockDim.x)
      y[base + a * inner] = expf(x[base + a * inner] - m) * inv;
  }
}

__global__ void softmaxGradKernel(const float *y, const float *dy, float *dx, int64_t size,
                                  int64_t inner, int64_t rows) {
  __shared__ double shared[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t base = (row / inner) * size * inner + row % inner;
    double dot = 0.0;
    for (int64_t a = threadIdx.x; a < size; a += blockDim.x)
      dot += double(dy[base + a * inner]) * double(y[base + a * inner]);
    float d = float(blockSum(dot, shared));
    for (int64_t a = threadIdx.x; a < size; a += blockDim.x)
      dx[base + a * inner] = y[base + a * inner] * (dy[base + a * inner] - d);
  }
}

struct NormTensors {
  int n;
  const void *data[kMaxNormTensors];
  int64_t count[kMaxNormTensors];
  bool bf16[kMaxNormTensors];
};

// One block of 1024 threads: every tensor in order, each thread its stride.
// A bf16 tensor adds exactly what its f32 cast would (the value widened).
__global__ void globalNormKernel(const NormTensors t, float *norm) {
  __shared__ double shared[32];
  double sum = 0.0;
  for (int k = 0; k < t.n; ++k)
    for (int64_t i = threadIdx.x; i < t.count[k]; i += blockDim.x) {
      double v = t.bf16[k] ? detail::loadF(static_cast<const uint16_t *>(t.data[k]), i)
                           : detail::loadF(static_cast<const float *>(t.data[k]), i);
      sum += v * v;
    }
  sum = blockSum(sum, shared);
  if (threadIdx.x == 0)
    *norm = float(sqrt(sum));
}

// norm_partial as the CPU defines it (runtime/cpu/Dot.h, Reduce.h), so the
// block sums are the CPU's bits: thread j of a norm block's 8 adds the
// squares of elements j, j+8, ... in order in double (a float product is
// exact in double), then lane 0 adds the 8 lanes in order. 32 norm blocks
// per CUDA block of 256 threads.
constexpr int kNormLanes = 8;
constexpr int kNormBlocksPerCuda = 32;

template <typename T>
__global__ void normPartialKernel(const T *x, int64_t n, double *partial, int64_t blocks) {
  __shared__ double lanes[kNormLanes * kNormBlocksPerCuda];
  int lane = threadIdx.x % kNormLanes, local = threadIdx.x / kNormLanes;
  int64_t b = int64_t(blockIdx.x) * kNormBlocksPerCuda + local;
  double sum = 0.0;
  if (b < blocks) {
    int64_t start = b * kNormElements, end = min(n, start + kNormElements);
    for (int64_t i = start + lane; i < end; i += kNormLanes) {
      double v = detail::loadF(x, i);
      sum = __dadd_rn(sum, __dmul_rn(v, v));
    }
  }
  lanes[threadIdx.x] = sum;
  __syncthreads();
  if (lane == 0 && b < blocks) {
    double total = lanes[threadIdx.x];
    for (int j = 1; j < kNormLanes; ++j)
      total = __dadd_rn(total, lanes[threadIdx.x + j]);
    partial[b] = total;
  }
}

struct PartialTensors {
  int n;
  const double *data[kMaxNormTensors];
  int64_t count[kMaxNormTensors];
};

// norm_combine: one thread adds every block sum in order, as the CPU does
// (a few million adds for the largest models, once per step).
__global__ void normCombineKernel(const PartialTensors t, float *norm) {
  double total = 0.0;
  for (int k = 0; k < t.n; ++k)
    for (int64_t i = 0; i < t.count[k]; ++i)
      total = __dadd_rn(total, t.data[k][i]);
  *norm = float(sqrt(total));
}

unsigned gridFor(int64_t rows) { return unsigned(rows < 65535 ? (rows < 1 ? 1 : rows) : 65535); }

} // namespace

void launchReduce(ReduceKind op, const float *x, const IndexMap &kept, int64_t keptCount,
                  const IndexMap &reduced, int64_t reducedCount, float *y, cudaStream_t s) {
  if (keptCount == 0)
    return;
  reduceKernel<<<gridFor(keptCount), kReduceThreads, 0, s>>>(op, x, kept, reduced,
                                                             reducedCount, y, keptCount);
  detail::checkLaunch("reduce");
}

void launchSoftmax(const float *x, float *y, int64_t outer, int64_t size, int64_t inner,
                   cudaStream_t s) {
  int64_t rows = outer * inner;
  if (rows == 0 || size == 0)
    return;
  softmaxKernel<<<gridFor(rows), kReduceThreads, 0, s>>>(x, y, size, inner, rows);
  detail::checkLaunch("softmax");
}

void launchSoftmaxGrad(const float *y, const float *dy, float *dx, int64_t outer,
                       int64_t size, int64_t inner, cudaStream_t s) {
  int64_t rows = outer * inner;
  if (rows == 0 || size == 0)
    return;
  softmaxGradKernel<<<gridFor(rows), kReduceThreads, 0, s>>>(y, dy, dx, size, inner, rows);
  detail::checkLaunch("softmax_grad");
}

void launchGlobalNorm(const void *const *tensors, const bool *bf16, const int64_t *counts, int n,
                      float *norm, cudaStream_t s) {
  if (n > kMaxNormTensors)
    throw std::invalid_argument("global_norm: the CUDA kernel takes at most " +
                                std::to_string(kMaxNormTensors) + " tensors, got " +
                                std::to_string(n));
  static thread_local NormTensors t; // too large for the stack of some threads
  t.n = n;
  for (int k = 0; k < n; ++k) {
    t.data[k] = tensors[k];
    t.count[k] = counts[k];
    t.bf16[k] = bf16[k];
  }
  globalNormKernel<<<1, 1024, 0, s>>>(t, norm);
  detail::checkLaunch("global_norm");
}

void launchNormPartial(const void *x, bool bf16, int64_t n, double *partial, cudaStream_t s) {
  int64_t blocks = (n + kNormElements - 1) / kNormElements;
  if (blocks == 0)
    return;
  int64_t grid = (blocks + kNormBlocksPerCuda - 1) / kNormBlocksPerCuda;
  constexpr int threads = kNormLanes * kNormBlocksPerCuda;
  if (bf16)
    normPartialKernel<<<unsigned(grid), threads, 0, s>>>(static_cast<const uint16_t *>(x), n,
                                                         partial, blocks);
  else
    normPartialKernel<<<unsigned(grid), threads, 0, s>>>(static_cast<const float *>(x), n,
                                                         partial, blocks);
  detail::checkLaunch("norm_partial");
}

void launchNormCombine(const double *const *partials, const int64_t *counts, int n, float *norm,
                       cudaStream_t s) {
  if (n > kMaxNormTensors)
    throw std::invalid_argument("norm_combine: the CUDA kernel takes at most " +
                                std::to_string(kMaxNormTensors) + " partials, got " +
                                std::to_string(n));
  static thread_local PartialTensors t; // too large for the stack of some threads
  t.n = n;
  for (int k = 0; k < n; ++k) {
    t.data[k] = partials[k];
    t.count[k] = counts[k];
  }
  normCombineKernel<<<1, 1, 0, s>>>(t, norm);
  detail::checkLaunch("norm_combine");
}

} // namespace off::cuda
