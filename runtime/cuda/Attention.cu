// Causal / full grouped-query attention forward and backward on the GPU,
// flash-style: a softmax row is never stored, only its running max and sum
// (online softmax), so no T x S matrix exists in memory. One warp per row
// (a query row forward and for dq, a key row for dk/dv); each lane holds
// every 32nd element of the head dimension (D, Dv <= kMaxHeadDim). Every sum
// runs in an order fixed by the shapes: deterministic.
//
// Backward, in three kernels: (1) per query row the log-sum-exp L and
// Delta = sum_s P[s] (dO . v_s), stashed in the first two elements of that
// row of dq (so no workspace is needed; D >= 2); (2) per key row s, dv and dk
// over the query heads of its group and the queries that see it, in order;
// (3) per query row dq, after the warp has read its row's stash.
//
// The forward is a template on the storage of q, k, v and o (f32, or bf16
// read as its exact f32 value with o rounded once): the f32 kernel's bits on
// widened inputs, rounded. The backward takes f32 (bf16 through widened
// copies, CudaWiden.cpp).
//
// Not tiled: each warp streams K and V through L2. Correct at any size;
// shapes with head dimensions up to 128 go to AttentionTiled.cu with
// OFF_CUDA_ATTENTION=auto or tiled (the dispatch in the launchers below).
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

constexpr int kPer = kMaxHeadDim / 32;
constexpr int kWarpsPerBlock = 4;

__device__ inline int64_t visibleKeys(const AttentionShape &a, int64_t t) {
  if (!a.causal)
    return a.S;
  int64_t n = t + a.S - a.T + 1;
  return n < a.S ? n : a.S;
}

using detail::loadF;

template <typename T>
__device__ inline void loadRow(const T *src, int64_t D, int lane, float (&r)[kPer]) {
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int64_t d = lane + 32 * j;
    r[j] = d < D ? loadF(src, d) : 0.0f;
  }
}

template <typename T>
__device__ inline float dotRow(const float (&r)[kPer], const T *src, int64_t D, int lane) {
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int64_t d = lane + 32 * j;
    if (d < D)
      sum += r[j] * loadF(src, d);
  }
  return detail::warpSumF(sum);
}

template <typename T>
__global__ void forwardKernel(const T *q, const T *k, const T *v, T *o, AttentionShape a) {
  int lane = threadIdx.x & 31;
  int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  int64_t rows = a.B * a.Hq * a.T;
  if (row >= rows)
    return;
  int64_t t = row % a.T, bh = row / a.T, b = bh / a.Hq, h = bh % a.Hq;
  int64_t kvHead = b * a.Hkv + h / (a.Hq / a.Hkv);
  const T *kh = k + kvHead * a.S * a.D, *vh = v + kvHead * a.S * a.Dv;
  float qr[kPer], acc[kPer];
  loadRow(q + row * a.D, a.D, lane, qr);
#pragma unroll
  for (int j = 0; j < kPer; ++j)
    acc[j] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  int64_t visible = visibleKeys(a, t);
  for (int64_t s = 0; s < visible; ++s) {
    float score = dotRow(qr, kh + s * a.D, a.D, lane) * a.scale;
    float mNew = fmaxf(m, score);
    float corr = expf(m - mNew), p = expf(score - mNew);
    l = l * corr + p;
    const T *vs = vh + s * a.Dv;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      int64_t d = lane + 32 * j;
      acc[j] = acc[j] * corr + (d < a.Dv ? p * loadF(vs, d) : 0.0f);
    }
    m = mNew;
  }
  float inv = 1.0f / l;
  T *out = o + row * a.Dv;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int64_t d = lane + 32 * j;
    if (d < a.Dv)
      detail::storeF(out, d, acc[j] * inv);
  }
}

// (1) L and Delta per query row, into dq[row][0..1].
__global__ void statsKernel(const float *q, const float *k, const float *v, const float *dout,
                            float *dq, AttentionShape a) {
  int lane = threadIdx.x & 31;
  int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  if (row >= a.B * a.Hq * a.T)
    return;
  int64_t t = row % a.T, bh = row / a.T, b = bh / a.Hq, h = bh % a.Hq;
  int64_t kvHead = b * a.Hkv + h / (a.Hq / a.Hkv);
  const float *kh = k + kvHead * a.S * a.D, *vh = v + kvHead * a.S * a.Dv;
  float qr[kPer], gr[kPer];
  loadRow(q + row * a.D, a.D, lane, qr);
  loadRow(dout + row * a.Dv, a.Dv, lane, gr);
  float m = -INFINITY, l = 0.0f, delta = 0.0f;
  int64_t visible = visibleKeys(a, t);
  for (int64_t s = 0; s < visible; ++s) {
    float score = dotRow(qr, kh + s * a.D, a.D, lane) * a.scale;
    float dp = dotRow(gr, vh + s * a.Dv, a.Dv, lane);
    float mNew = fmaxf(m, score);
    float corr = expf(m - mNew), p = expf(score - mNew);
    l = l * corr + p;
    delta = delta * corr + p * dp;
    m = mNew;
  }
  if (lane == 0) {
    dq[row * a.D] = m + logf(l);
    dq[row * a.D + 1] = delta / l;
  }
}

// (2) dk, dv per key row.
__global__ void keyGradKernel(const float *q, const float *k, const float *v,
                              const float *dout, const float *stash, float *dk, float *dv,
                              AttentionShape a) {
  int lane = threadIdx.x & 31;
  int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  if (row >= a.B * a.Hkv * a.S)
    return;
  int64_t s = row % a.S, bk = row / a.S, b = bk / a.Hkv, hk = bk % a.Hkv;
  int64_t group = a.Hq / a.Hkv;
  float kr[kPer], vr[kPer], dkAcc[kPer], dvAcc[kPer];
  loadRow(k + row * a.D, a.D, lane, kr);
  loadRow(v + row * a.Dv, a.Dv, lane, vr);
#pragma unroll
  for (int j = 0; j < kPer; ++j)
    dkAcc[j] = dvAcc[j] = 0.0f;
  int64_t first = a.causal ? s - (a.S - a.T) : 0;
  if (first < 0)
    first = 0;
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
    int64_t qBase = (b * a.Hq + h) * a.T;
    for (int64_t t = first; t < a.T; ++t) {
      const float *qt = q + (qBase + t) * a.D, *gt = dout + (qBase + t) * a.Dv;
      float L = stash[(qBase + t) * a.D], delta = stash[(qBase + t) * a.D + 1];
      float score = 0.0f, dp = 0.0f;
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        int64_t d = lane + 32 * j;
        if (d < a.D)
          score += qt[d] * kr[j];
        if (d < a.Dv)
          dp += gt[d] * vr[j];
      }
      score = detail::warpSumF(score) * a.scale;
      dp = detail::warpSumF(dp);
      float p = expf(score - L);
      float ds = p * (dp - delta) * a.scale;
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        int64_t d = lane + 32 * j;
        if (d < a.Dv)
          dvAcc[j] += p * gt[d];
        if (d < a.D)
          dkAcc[j] += ds * qt[d];
      }
    }
  }
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int64_t d = lane + 32 * j;
    if (d < a.D)
      dk[row * a.D + d] = dkAcc[j];
    if (d < a.Dv)
      dv[row * a.Dv + d] = dvAcc[j];
  }
}

// (3) dq per query row; its stash is read before the row is written.
__global__ void queryGradKernel(const float *q, const float *k, const float *v,
                                const float *dout, float *dq, AttentionShape a) {
  int lane = threadIdx.x & 31;
  int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  if (row >= a.B * a.Hq * a.T)
    return;
  int64_t t = row % a.T, bh = row / a.T, b = bh / a.Hq, h = bh % a.Hq;
  int64_t kvHead = b * a.Hkv + h / (a.Hq / a.Hkv);
  const float *kh = k + kvHead * a.S * a.D, *vh = v + kvHead * a.S * a.Dv;
  float L = dq[row * a.D], delta = dq[row * a.D + 1];
  __syncwarp();
  float qr[kPer], gr[kPer], acc[kPer];
  loadRow(q + row * a.D, a.D, lane, qr);
  loadRow(dout + row * a.Dv, a.Dv, lane, gr);
#pragma unroll
  for (int j = 0; j < kPer; ++j)
    acc[j] = 0.0f;
  int64_t visible = visibleKeys(a, t);
  for (int64_t s = 0; s < visible; ++s) {
    const float *ks = kh + s * a.D;
    float score = dotRow(qr, ks, a.D, lane) * a.scale;
    float dp = dotRow(gr, vh + s * a.Dv, a.Dv, lane);
    float ds = expf(score - L) * (dp - delta) * a.scale;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      int64_t d = lane + 32 * j;
      if (d < a.D)
        acc[j] += ds * ks[d];
    }
  }
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int64_t d = lane + 32 * j;
    if (d < a.D)
      dq[row * a.D + d] = acc[j];
  }
}

unsigned warpBlocks(int64_t rows) {
  return unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

void checkShape(const AttentionShape &a, const char *op) {
  if (a.D > kMaxHeadDim || a.Dv > kMaxHeadDim)
    throw std::invalid_argument(std::string(op) + ": the CUDA kernel takes head dimensions up to " +
                                std::to_string(kMaxHeadDim) + ", got " + std::to_string(a.D) +
                                " and " + std::to_string(a.Dv));
  if ((a.B * a.Hq * a.T + kWarpsPerBlock - 1) / kWarpsPerBlock > 0x7fffffffLL ||
      (a.B * a.Hkv * a.S + kWarpsPerBlock - 1) / kWarpsPerBlock > 0x7fffffffLL)
    throw std::invalid_argument(std::string(op) + ": too many rows for one launch");
}

} // namespace

void launchAttention(bool bf16, const void *q, const void *k, const void *v, void *o,
                     const AttentionShape &a, cudaStream_t s) {
  checkShape(a, "attention");
  int64_t rows = a.B * a.Hq * a.T;
  if (rows == 0 || a.Dv == 0)
    return;
  if (tryLaunchAttentionTiled(bf16, q, k, v, o, a, s))
    return;
  if (bf16)
    forwardKernel<<<warpBlocks(rows), 32 * kWarpsPerBlock, 0, s>>>(
        static_cast<const uint16_t *>(q), static_cast<const uint16_t *>(k),
        static_cast<const uint16_t *>(v), static_cast<uint16_t *>(o), a);
  else
    forwardKernel<<<warpBlocks(rows), 32 * kWarpsPerBlock, 0, s>>>(
        static_cast<const float *>(q), static_cast<const float *>(k),
        static_cast<const float *>(v), static_cast<float *>(o), a);
  detail::checkLaunch("attention");
}

void launchAttentionGrad(const float *q, const float *k, const float *v, const float *dout,
                         float *dq, float *dk, float *dv, const AttentionShape &a,
                         cudaStream_t s) {
  checkShape(a, "attention_grad");
  if (a.D < 2)
    throw std::invalid_argument("attention_grad: the CUDA kernel needs a head dimension of 2 "
                                "or more, got " + std::to_string(a.D));
  if (tryLaunchAttentionGradTiled(q, k, v, dout, dq, dk, dv, a, s))
    return;
  int64_t qRows = a.B * a.Hq * a.T, kRows = a.B * a.Hkv * a.S;
  if (qRows > 0)
    statsKernel<<<warpBlocks(qRows), 32 * kWarpsPerBlock, 0, s>>>(q, k, v, dout, dq, a);
  if (kRows > 0)
    keyGradKernel<<<warpBlocks(kRows), 32 * kWarpsPerBlock, 0, s>>>(q, k, v, dout, dq, dk, dv,
                                                                     a);
  if (qRows > 0)
    queryGradKernel<<<warpBlocks(qRows), 32 * kWarpsPerBlock, 0, s>>>(q, k, v, dout, dq, a);
  detail::checkLaunch("attention_grad");
}

} // namespace off::cuda
