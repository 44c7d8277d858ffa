// The tiled attention kernels (AttentionTiled.cu has the why and the launch
// side). A header so that the same source also compiles for the host under
// an emulated block (test/unit/runtime/cuda/AttentionTiledEmulatedTest.cpp,
// which checks the index math, masking and tile edges without a GPU): it uses
// only CUDA's thread/block indices, __syncthreads, __shfl_xor_sync and the
// float math functions, and expects off::cuda::tiled::sharedFloats() (the
// block's dynamic shared memory) to be declared before it is included.
#pragma once

#include "runtime/cuda/CudaKernels.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace off::cuda::tiled {

constexpr int kGrid = 16;                 // threads per tile side
constexpr int kTiledThreads = kGrid * kGrid;
constexpr int kTiledMaxHeadDim = 128;

// Keys query t sees: all S, or s <= t + (S - T) when causal.
__host__ __device__ inline int64_t visible(const AttentionShape &a, int64_t t) {
  if (!a.causal)
    return a.S;
  int64_t n = t + a.S - a.T + 1;
  return n < a.S ? n : a.S;
}

__device__ inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

// Shared-memory layouts (offsets in floats). Host and device compute them
// from the same arguments, so the launch size and the kernel's view agree.
struct ForwardLayout {
  int ldq, ldkv, ldp, q, kv, p, corr, l, m, total;
  __host__ __device__ ForwardLayout(int bq, int bk, int D, int Dv) {
    ldq = D + 1;
    ldkv = (D > Dv ? D : Dv) + 1; // K, then V, share one buffer
    ldp = bk + 1;
    q = 0;
    kv = q + bq * ldq;
    p = kv + bk * ldkv;
    corr = p + bq * ldp;
    l = corr + bq;
    m = l + bq;
    total = m + bq;
  }
};

struct GradLayout { // dk/dv and dq kernels: Q, dO, K, V, P, dS, L, Delta
  int ldq, ldo, ldk, ldv, ldp, q, dO, k, v, p, dS, L, delta, total;
  __host__ __device__ GradLayout(int bq, int bk, int D, int Dv, bool withP) {
    ldq = ldk = D + 1;
    ldo = ldv = Dv + 1;
    ldp = bk + 1;
    k = 0;
    v = k + bk * ldk;
    q = v + bk * ldv;
    dO = q + bq * ldq;
    p = dO + bq * ldo;
    dS = p + (withP ? bq * ldp : 0);
    L = dS + bq * ldp;
    delta = L + bq;
    total = delta + bq;
  }
};

// Storage of the forward's q, k, v and o: f32, or bf16 bits (uint16_t) read
// as their exact f32 value and written rounded once to nearest even (any NaN
// as 0x7FC0: runtime/common/Float16.h's floatToBf16, bit for bit).
__host__ __device__ inline float loadValue(const float *p, int64_t i) { return p[i]; }
__host__ __device__ inline float loadValue(const uint16_t *p, int64_t i) {
  uint32_t bits = uint32_t(p[i]) << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}
__host__ __device__ inline void storeValue(float *p, int64_t i, float v) { p[i] = v; }
__host__ __device__ inline void storeValue(uint16_t *p, int64_t i, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    p[i] = 0x7fc0;
    return;
  }
  bits += 0x7fffu + ((bits >> 16) & 1u);
  p[i] = uint16_t(bits >> 16);
}

// rows [0, rows) of a [*, cols] matrix at src (row stride cols) into dst
// (row stride ld) as f32; rows [rows, tileRows) as zeros, so that masked
// keys and padded queries multiply as 0 and never as garbage.
template <typename T>
__device__ inline void loadTile(float *dst, int ld, const T *src, int64_t cols, int rows,
                                int tileRows) {
  int n = tileRows * int(cols);
  for (int i = threadIdx.x; i < n; i += kTiledThreads) {
    int r = i / int(cols), c = i % int(cols);
    dst[r * ld + c] = r < rows ? loadValue(src, int64_t(r) * cols + c) : 0.0f;
  }
}

// Forward (Stats = false: out = O [B, Hq, T, Dv], q, k, v and out stored as
// T) or the statistics of the backward (Stats = true, T = float: out = dq,
// whose rows get L and Delta = dO . O).
template <int BQ, int BK, int DM, bool Stats, typename T = float>
__global__ void __launch_bounds__(kTiledThreads)
    forwardTiled(const T *q, const T *k, const T *v, const float *dout, T *out,
                 AttentionShape a, int64_t tiles) {
  static_assert(!Stats || sizeof(T) == sizeof(float), "the statistics are f32");
  constexpr int RQ = BQ / kGrid, RK = BK / kGrid, RC = DM / kGrid;
  constexpr int TPR = kTiledThreads / BQ; // softmax: threads per query row
  static_assert(BQ % kGrid == 0 && BK % kGrid == 0 && DM % kGrid == 0, "tile sizes");
  static_assert(TPR * BQ == kTiledThreads && BK % TPR == 0 && TPR <= 32, "softmax split");
  float *smem = sharedFloats();
  const int D = int(a.D), Dv = int(a.Dv);
  const ForwardLayout lay(BQ, BK, D, Dv);
  float *Qs = smem + lay.q, *KVs = smem + lay.kv, *Ps = smem + lay.p;
  float *corrS = smem + lay.corr, *lS = smem + lay.l, *mS = smem + lay.m;
  const int tid = threadIdx.x, tx = tid % kGrid, ty = tid / kGrid;

  // Late query tiles see the most keys under causality: launch them first.
  const int64_t bh = blockIdx.x / tiles, tile = tiles - 1 - blockIdx.x % tiles;
  const int64_t t0 = tile * BQ, b = bh / a.Hq, h = bh % a.Hq;
  const int rows = int(min64(BQ, a.T - t0));
  const int64_t kvHead = b * a.Hkv + h / (a.Hq / a.Hkv);
  const T *kh = k + kvHead * a.S * a.D, *vh = v + kvHead * a.S * a.Dv;
  const int64_t kEnd = visible(a, t0 + rows - 1); // no row of the tile sees past it

  loadTile(Qs, lay.ldq, q + (bh * a.T + t0) * a.D, a.D, rows, BQ);

  float acc[RQ][RC];
#pragma unroll
  for (int i = 0; i < RQ; ++i)
#pragma unroll
    for (int j = 0; j < RC; ++j)
      acc[i][j] = 0.0f;
  // Running max and sum of the softmax row tid / TPR (all TPR threads of a
  // row hold the same bits: their shuffle trees add the same pairs).
  float mRow = -INFINITY, lRow = 0.0f;
  // Visibility per score register: padded rows behave as the last real row.
  int64_t rowVisible[RQ];
#pragma unroll
  for (int i = 0; i < RQ; ++i) {
    int r = ty + kGrid * i;
    rowVisible[i] = visible(a, t0 + (r < rows ? r : rows - 1));
  }

  for (int64_t s0 = 0; s0 < kEnd; s0 += BK) {
    const int kn = int(min64(BK, kEnd - s0));
    loadTile(KVs, lay.ldkv, kh + s0 * a.D, a.D, kn, BK);
    __syncthreads();

    // Scores of (row ty + 16 i, key tx + 16 j), scaled; -inf where not seen.
    float sc[RQ][RK];
#pragma unroll
    for (int i = 0; i < RQ; ++i)
#pragma unroll
      for (int j = 0; j < RK; ++j)
        sc[i][j] = 0.0f;
    for (int d = 0; d < D; ++d) {
      float qv[RQ], kv[RK];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
        qv[i] = Qs[(ty + kGrid * i) * lay.ldq + d];
#pragma unroll
      for (int j = 0; j < RK; ++j)
        kv[j] = KVs[(tx + kGrid * j) * lay.ldkv + d];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RK; ++j)
          sc[i][j] = fmaf(qv[i], kv[j], sc[i][j]);
    }
#pragma unroll
    for (int i = 0; i < RQ; ++i)
#pragma unroll
      for (int j = 0; j < RK; ++j) {
        int r = ty + kGrid * i, c = tx + kGrid * j;
        Ps[r * lay.ldp + c] = s0 + c < rowVisible[i] ? sc[i][j] * a.scale : -INFINITY;
      }
    __syncthreads(); // K no longer read: V takes its buffer

    loadTile(KVs, lay.ldkv, vh + s0 * a.Dv, a.Dv, kn, BK);
    {
      // Online softmax of row r over this tile; key 0 is seen by every row
      // (causal needs T <= S), so mNew is finite from the first tile on.
      const int r = tid / TPR, part = tid % TPR;
      float *pr = Ps + r * lay.ldp;
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < BK / TPR; ++j)
        mx = fmaxf(mx, pr[part + TPR * j]);
#pragma unroll
      for (int o = 1; o < TPR; o <<= 1)
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      const float mNew = fmaxf(mRow, mx);
      const float corr = expf(mRow - mNew);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < BK / TPR; ++j) {
        float p = expf(pr[part + TPR * j] - mNew);
        pr[part + TPR * j] = p;
        sum += p;
      }
#pragma unroll
      for (int o = 1; o < TPR; o <<= 1)
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
      lRow = lRow * corr + sum;
      mRow = mNew;
      if (part == 0) {
        corrS[r] = corr;
        lS[r] = lRow;
        mS[r] = mRow;
      }
    }
    __syncthreads();

    // acc = acc * corr + P V over the keys of the tile that exist.
#pragma unroll
    for (int i = 0; i < RQ; ++i) {
      float corr = corrS[ty + kGrid * i];
#pragma unroll
      for (int j = 0; j < RC; ++j)
        acc[i][j] *= corr;
    }
    for (int kk = 0; kk < kn; ++kk) {
      float pv[RQ], vv[RC];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
        pv[i] = Ps[(ty + kGrid * i) * lay.ldp + kk];
#pragma unroll
      for (int j = 0; j < RC; ++j) {
        int c = tx + kGrid * j;
        vv[j] = c < Dv ? KVs[kk * lay.ldkv + c] : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RC; ++j)
          acc[i][j] = fmaf(pv[i], vv[j], acc[i][j]);
    }
    __syncthreads(); // before the next tile overwrites KVs, Ps and corrS
  }

#pragma unroll
  for (int i = 0; i < RQ; ++i) {
    const int r = ty + kGrid * i;
    const int rr = r < rows ? r : rows - 1;
    const float inv = 1.0f / lS[rr];
    const int64_t row = bh * a.T + t0 + rr;
    if constexpr (!Stats) {
      if (r < rows) {
#pragma unroll
        for (int j = 0; j < RC; ++j) {
          int c = tx + kGrid * j;
          if (c < Dv)
            storeValue(out, row * a.Dv + c, acc[i][j] * inv);
        }
      }
    } else {
      // Delta = dO . O over the row's 16 threads (lanes tx of one half-warp).
      const float *g = dout + row * a.Dv;
      float part = 0.0f;
#pragma unroll
      for (int j = 0; j < RC; ++j) {
        int c = tx + kGrid * j;
        if (c < Dv)
          part = fmaf(g[c], acc[i][j] * inv, part);
      }
#pragma unroll
      for (int o = 1; o < kGrid; o <<= 1)
        part += __shfl_xor_sync(0xffffffffu, part, o);
      if (tx == 0 && r < rows) {
        out[row * a.D] = mS[rr] + logf(lS[rr]);
        out[row * a.D + 1] = part;
      }
    }
  }
}

// dk, dv for the keys [s0, s0 + BK) of kv head (b, hk): sums over the query
// heads of the group, then the query tiles from the first query that sees
// key s0, then the rows of the tile, in that order.
template <int BQ, int BK, int DM>
__global__ void __launch_bounds__(kTiledThreads)
    keyGradTiled(const float *q, const float *k, const float *v, const float *dout,
                 const float *stash, float *dk, float *dv, AttentionShape a, int64_t tiles) {
  constexpr int RQ = BQ / kGrid, RK = BK / kGrid, RC = DM / kGrid;
  static_assert(BQ % kGrid == 0 && BK % kGrid == 0 && DM % kGrid == 0, "tile sizes");
  float *smem = sharedFloats();
  const int D = int(a.D), Dv = int(a.Dv);
  const GradLayout lay(BQ, BK, D, Dv, true);
  float *Ks = smem + lay.k, *Vs = smem + lay.v, *Qs = smem + lay.q, *dOs = smem + lay.dO;
  float *Ps = smem + lay.p, *dSs = smem + lay.dS, *Ls = smem + lay.L, *Ds = smem + lay.delta;
  const int tid = threadIdx.x, tx = tid % kGrid, ty = tid / kGrid;

  // Early key tiles are seen by the most queries under causality: tile 0 first.
  const int64_t bk = blockIdx.x / tiles, tile = blockIdx.x % tiles;
  const int64_t s0 = tile * BK, b = bk / a.Hkv, hk = bk % a.Hkv, group = a.Hq / a.Hkv;
  const int kn = int(min64(BK, a.S - s0));
  const int64_t shift = a.S - a.T;
  loadTile(Ks, lay.ldk, k + (bk * a.S + s0) * a.D, a.D, kn, BK);
  loadTile(Vs, lay.ldv, v + (bk * a.S + s0) * a.Dv, a.Dv, kn, BK);

  float dK[RK][RC], dV[RK][RC];
#pragma unroll
  for (int i = 0; i < RK; ++i)
#pragma unroll
    for (int j = 0; j < RC; ++j)
      dK[i][j] = dV[i][j] = 0.0f;
  int64_t tFirst = a.causal ? s0 - shift : 0;
  if (tFirst < 0)
    tFirst = 0;

  for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
    const int64_t bh = b * a.Hq + h;
    for (int64_t tq0 = tFirst; tq0 < a.T; tq0 += BQ) {
      const int rows = int(min64(BQ, a.T - tq0));
      __syncthreads(); // the previous query tile's readers are done
      loadTile(Qs, lay.ldq, q + (bh * a.T + tq0) * a.D, a.D, rows, BQ);
      loadTile(dOs, lay.ldo, dout + (bh * a.T + tq0) * a.Dv, a.Dv, rows, BQ);
      for (int r = tid; r < BQ; r += kTiledThreads) {
        const float *st = stash + (bh * a.T + tq0 + r) * a.D;
        Ls[r] = r < rows ? st[0] : 0.0f;
        Ds[r] = r < rows ? st[1] : 0.0f;
      }
      __syncthreads();

      // P and dS of (query ty + 16 i, key tx + 16 j).
      float sc[RQ][RK], dp[RQ][RK];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RK; ++j)
          sc[i][j] = dp[i][j] = 0.0f;
      for (int d = 0; d < D; ++d) {
        float qv[RQ], kv[RK];
#pragma unroll
        for (int i = 0; i < RQ; ++i)
          qv[i] = Qs[(ty + kGrid * i) * lay.ldq + d];
#pragma unroll
        for (int j = 0; j < RK; ++j)
          kv[j] = Ks[(tx + kGrid * j) * lay.ldk + d];
#pragma unroll
        for (int i = 0; i < RQ; ++i)
#pragma unroll
          for (int j = 0; j < RK; ++j)
            sc[i][j] = fmaf(qv[i], kv[j], sc[i][j]);
      }
      for (int d = 0; d < Dv; ++d) {
        float gv[RQ], vv[RK];
#pragma unroll
        for (int i = 0; i < RQ; ++i)
          gv[i] = dOs[(ty + kGrid * i) * lay.ldo + d];
#pragma unroll
        for (int j = 0; j < RK; ++j)
          vv[j] = Vs[(tx + kGrid * j) * lay.ldv + d];
#pragma unroll
        for (int i = 0; i < RQ; ++i)
#pragma unroll
          for (int j = 0; j < RK; ++j)
            dp[i][j] = fmaf(gv[i], vv[j], dp[i][j]);
      }
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RK; ++j) {
          const int r = ty + kGrid * i, c = tx + kGrid * j;
          const bool seen = r < rows && c < kn && (!a.causal || s0 + c <= tq0 + r + shift);
          const float p = seen ? expf(sc[i][j] * a.scale - Ls[r]) : 0.0f;
          Ps[r * lay.ldp + c] = p;
          dSs[r * lay.ldp + c] = seen ? p * (dp[i][j] - Ds[r]) * a.scale : 0.0f;
        }
      __syncthreads();

      // dV[key][c] += P[r][key] dO[r][c]; dK[key][c] += dS[r][key] Q[r][c].
      for (int r = 0; r < rows; ++r) {
        float pk[RK], dsk[RK], gq[RC], qq[RC];
#pragma unroll
        for (int i = 0; i < RK; ++i) {
          pk[i] = Ps[r * lay.ldp + ty + kGrid * i];
          dsk[i] = dSs[r * lay.ldp + ty + kGrid * i];
        }
#pragma unroll
        for (int j = 0; j < RC; ++j) {
          const int c = tx + kGrid * j;
          gq[j] = c < Dv ? dOs[r * lay.ldo + c] : 0.0f;
          qq[j] = c < D ? Qs[r * lay.ldq + c] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < RK; ++i)
#pragma unroll
          for (int j = 0; j < RC; ++j) {
            dV[i][j] = fmaf(pk[i], gq[j], dV[i][j]);
            dK[i][j] = fmaf(dsk[i], qq[j], dK[i][j]);
          }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < RK; ++i) {
    const int key = ty + kGrid * i;
    if (key >= kn)
      continue;
    const int64_t row = bk * a.S + s0 + key;
#pragma unroll
    for (int j = 0; j < RC; ++j) {
      const int c = tx + kGrid * j;
      if (c < D)
        dk[row * a.D + c] = dK[i][j];
      if (c < Dv)
        dv[row * a.Dv + c] = dV[i][j];
    }
  }
}

// dq for the queries [t0, t0 + BQ) of head (b, h): sums over the key tiles
// the rows can see, then the keys of each tile, in order. The rows' stash
// (L, Delta in dq) is read into shared memory before dq is written, and no
// other block reads these rows.
template <int BQ, int BK, int DM>
__global__ void __launch_bounds__(kTiledThreads)
    queryGradTiled(const float *q, const float *k, const float *v, const float *dout,
                   float *dq, AttentionShape a, int64_t tiles) {
  constexpr int RQ = BQ / kGrid, RK = BK / kGrid, RC = DM / kGrid;
  static_assert(BQ % kGrid == 0 && BK % kGrid == 0 && DM % kGrid == 0, "tile sizes");
  float *smem = sharedFloats();
  const int D = int(a.D), Dv = int(a.Dv);
  const GradLayout lay(BQ, BK, D, Dv, false);
  float *Ks = smem + lay.k, *Vs = smem + lay.v, *Qs = smem + lay.q, *dOs = smem + lay.dO;
  float *dSs = smem + lay.dS, *Ls = smem + lay.L, *Ds = smem + lay.delta;
  const int tid = threadIdx.x, tx = tid % kGrid, ty = tid / kGrid;

  const int64_t bh = blockIdx.x / tiles, tile = tiles - 1 - blockIdx.x % tiles;
  const int64_t t0 = tile * BQ, b = bh / a.Hq, h = bh % a.Hq;
  const int rows = int(min64(BQ, a.T - t0));
  const int64_t kvHead = b * a.Hkv + h / (a.Hq / a.Hkv);
  const float *kh = k + kvHead * a.S * a.D, *vh = v + kvHead * a.S * a.Dv;
  const int64_t kEnd = visible(a, t0 + rows - 1);

  loadTile(Qs, lay.ldq, q + (bh * a.T + t0) * a.D, a.D, rows, BQ);
  loadTile(dOs, lay.ldo, dout + (bh * a.T + t0) * a.Dv, a.Dv, rows, BQ);
  for (int r = tid; r < BQ; r += kTiledThreads) {
    const float *st = dq + (bh * a.T + t0 + r) * a.D;
    Ls[r] = r < rows ? st[0] : 0.0f;
    Ds[r] = r < rows ? st[1] : 0.0f;
  }
  int64_t rowVisible[RQ];
#pragma unroll
  for (int i = 0; i < RQ; ++i) {
    int r = ty + kGrid * i;
    rowVisible[i] = r < rows ? visible(a, t0 + r) : 0; // padded rows see nothing
  }

  float acc[RQ][RC];
#pragma unroll
  for (int i = 0; i < RQ; ++i)
#pragma unroll
    for (int j = 0; j < RC; ++j)
      acc[i][j] = 0.0f;

  for (int64_t s0 = 0; s0 < kEnd; s0 += BK) {
    const int kn = int(min64(BK, kEnd - s0));
    loadTile(Ks, lay.ldk, kh + s0 * a.D, a.D, kn, BK);
    loadTile(Vs, lay.ldv, vh + s0 * a.Dv, a.Dv, kn, BK);
    __syncthreads(); // also orders the stash reads above before any use

    float sc[RQ][RK], dp[RQ][RK];
#pragma unroll
    for (int i = 0; i < RQ; ++i)
#pragma unroll
      for (int j = 0; j < RK; ++j)
        sc[i][j] = dp[i][j] = 0.0f;
    for (int d = 0; d < D; ++d) {
      float qv[RQ], kv[RK];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
        qv[i] = Qs[(ty + kGrid * i) * lay.ldq + d];
#pragma unroll
      for (int j = 0; j < RK; ++j)
        kv[j] = Ks[(tx + kGrid * j) * lay.ldk + d];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RK; ++j)
          sc[i][j] = fmaf(qv[i], kv[j], sc[i][j]);
    }
    for (int d = 0; d < Dv; ++d) {
      float gv[RQ], vv[RK];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
        gv[i] = dOs[(ty + kGrid * i) * lay.ldo + d];
#pragma unroll
      for (int j = 0; j < RK; ++j)
        vv[j] = Vs[(tx + kGrid * j) * lay.ldv + d];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RK; ++j)
          dp[i][j] = fmaf(gv[i], vv[j], dp[i][j]);
    }
#pragma unroll
    for (int i = 0; i < RQ; ++i)
#pragma unroll
      for (int j = 0; j < RK; ++j) {
        const int r = ty + kGrid * i, c = tx + kGrid * j;
        const bool seen = s0 + c < rowVisible[i];
        dSs[r * lay.ldp + c] =
            seen ? expf(sc[i][j] * a.scale - Ls[r]) * (dp[i][j] - Ds[r]) * a.scale : 0.0f;
      }
    __syncthreads();

    for (int kk = 0; kk < kn; ++kk) {
      float ds[RQ], kc[RC];
#pragma unroll
      for (int i = 0; i < RQ; ++i)
        ds[i] = dSs[(ty + kGrid * i) * lay.ldp + kk];
#pragma unroll
      for (int j = 0; j < RC; ++j) {
        const int c = tx + kGrid * j;
        kc[j] = c < D ? Ks[kk * lay.ldk + c] : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < RQ; ++i)
#pragma unroll
        for (int j = 0; j < RC; ++j)
          acc[i][j] = fmaf(ds[i], kc[j], acc[i][j]);
    }
    __syncthreads(); // before the next tile overwrites Ks, Vs and dSs
  }

#pragma unroll
  for (int i = 0; i < RQ; ++i) {
    const int r = ty + kGrid * i;
    if (r >= rows)
      continue;
    float *row = dq + (bh * a.T + t0 + r) * a.D;
#pragma unroll
    for (int j = 0; j < RC; ++j) {
      const int c = tx + kGrid * j;
      if (c < D)
        row[c] = acc[i][j];
    }
  }
}

// Tile sizes per head-dimension class; every layout fits the 99 KiB of
// opt-in shared memory per block of sm_89 / sm_120 (sm_80 and sm_90 have more).
struct Small { // max(D, Dv) <= 64
  static constexpr int DM = 64, FQ = 64, FK = 64, KQ = 32, KK = 64, QQ = 64, QK = 64;
};
struct Large { // max(D, Dv) <= 128
  static constexpr int DM = 128, FQ = 64, FK = 64, KQ = 32, KK = 32, QQ = 32, QK = 32;
};

} // namespace off::cuda::tiled
