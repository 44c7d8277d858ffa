// cross_entropy (mean over rows of logsumexp - logit[target]) and its
// gradient on the GPU. The loss is one value: one block of 32 warps, warp w
// taking rows w, w + 32, ... and the warps' sums added in order, in double
// (deterministic; one SM, which is fine for the sizes of a loss). The
// gradient: one block per row. A target outside [0, V) is a data error.
// Logits and their gradient are f32 or bf16 (templates on the storage type:
// bf16 read as its exact f32 value, the gradient rounded once on store), so
// bf16 logits need no f32 copy of the largest activation of the model.
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

using detail::loadF;

template <typename T>
__global__ void lossKernel(const T *logits, const void *targets, bool idx64, int64_t N,
                           int64_t V, float *loss, int64_t *errors) {
  __shared__ double warpTotals[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  double total = 0.0;
  for (int64_t n = warp; n < N; n += warps) {
    const T *x = logits + n * V;
    float m = -INFINITY;
    for (int64_t v = lane; v < V; v += 32)
      m = fmaxf(m, loadF(x, v));
    m = detail::warpMax(m);
    double sum = 0.0;
    for (int64_t v = lane; v < V; v += 32)
      sum += double(expf(loadF(x, v) - m));
    sum = detail::warpSum(sum);
    int64_t t = detail::loadIndex(targets, idx64, n);
    if (t < 0 || t >= V) {
      if (lane == 0)
        detail::reportError(errors, DeviceError::CrossEntropyTarget, n, t, V);
      continue;
    }
    total += double(m) + log(sum) - double(loadF(x, t));
  }
  if (lane == 0)
    warpTotals[warp] = total;
  __syncthreads();
  if (threadIdx.x == 0) {
    double all = 0.0;
    for (int w = 0; w < warps; ++w)
      all += warpTotals[w];
    *loss = float(all / double(N));
  }
}

template <typename T, typename U>
__global__ void gradKernel(const T *logits, const void *targets, bool idx64, const float *dloss,
                           U *dlogits, int64_t N, int64_t V, int64_t *errors) {
  __shared__ double shared[32];
  __shared__ float sharedMax[32];
  float scale = float(double(*dloss) / double(N));
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T *x = logits + n * V;
    U *dx = dlogits + n * V;
    float m = -INFINITY;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
      m = fmaxf(m, loadF(x, v));
    m = detail::blockMax(m, sharedMax);
    double sum = 0.0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
      sum += double(expf(loadF(x, v) - m));
    sum = detail::blockSum(sum, shared);
    float inv = float(1.0 / sum);
    int64_t t = detail::loadIndex(targets, idx64, n);
    if (t < 0 || t >= V) {
      if (threadIdx.x == 0)
        detail::reportError(errors, DeviceError::CrossEntropyGradTarget, n, t, V);
      t = -1;
    }
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      float e = expf(loadF(x, v) - m); // read before the write: dlogits may be logits
      detail::storeF(dx, v, v == t ? ((e * inv) - 1.0f) * scale : (e * inv) * scale);
    }
    __syncthreads();
  }
}

} // namespace

void launchCrossEntropy(const void *logits, bool bf16, const void *targets, bool idx64,
                        int64_t N, int64_t V, float *loss, int64_t *errors, cudaStream_t s) {
  if (bf16)
    lossKernel<<<1, 1024, 0, s>>>(static_cast<const uint16_t *>(logits), targets, idx64, N, V,
                                  loss, errors);
  else
    lossKernel<<<1, 1024, 0, s>>>(static_cast<const float *>(logits), targets, idx64, N, V,
                                  loss, errors);
  detail::checkLaunch("cross_entropy");
}

namespace {
template <typename T>
void launchGrad(const T *logits, const void *targets, bool idx64, const float *dloss,
                void *dlogits, bool dlogitsBf16, int64_t N, int64_t V, int64_t *errors,
                cudaStream_t s) {
  unsigned grid = unsigned(N < 65535 ? N : 65535);
  if (dlogitsBf16)
    gradKernel<<<grid, 256, 0, s>>>(logits, targets, idx64, dloss,
                                    static_cast<uint16_t *>(dlogits), N, V, errors);
  else
    gradKernel<<<grid, 256, 0, s>>>(logits, targets, idx64, dloss, static_cast<float *>(dlogits),
                                    N, V, errors);
}
} // namespace

void launchCrossEntropyGrad(const void *logits, bool logitsBf16, const void *targets,
                            bool idx64, const float *dloss, void *dlogits, bool dlogitsBf16,
                            int64_t N, int64_t V, int64_t *errors, cudaStream_t s) {
  if (N == 0)
    return;
  if (logitsBf16)
    launchGrad(static_cast<const uint16_t *>(logits), targets, idx64, dloss, dlogits,
               dlogitsBf16, N, V, errors, s);
  else
    launchGrad(static_cast<const float *>(logits), targets, idx64, dloss, dlogits, dlogitsBf16,
               N, V, errors, s);
  detail::checkLaunch("cross_entropy_grad");
}

} // namespace off::cuda
