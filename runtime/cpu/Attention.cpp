#include "runtime/cpu/Attention.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Dot.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/RowMath.h"

#include <algorithm>

namespace off::cpu {

namespace {

// Keys query t sees: all S, or s <= t + (S - T) when causal.
int64_t visibleKeys(const AttentionDims &d, int64_t t) {
  return d.causal ? std::min(d.S, t + d.S - d.T + 1) : d.S;
}

// P [rows, ld] for queries t0 .. t0+rows-1 of one head: qBlock [rows, D]
// against kHead [S, D]; ld = keys the last row sees. Returns ld.
int64_t probabilities(const float *qBlock, const float *kHead, int64_t t0, int64_t rows,
                      const AttentionDims &d, float *P) {
  int64_t ld = visibleKeys(d, t0 + rows - 1);
  gemmSerial(false, true, rows, ld, d.D, d.scale, qBlock, d.D, kHead, d.D, 0.0f, P, ld);
  for (int64_t r = 0; r < rows; ++r) {
    float *p = P + r * ld;
    int64_t visible = visibleKeys(d, t0 + r);
    float max = detail::rowMax(p, visible);
    double sum = detail::expShifted(p, max, p, visible);
    float inv = float(1.0 / sum);
    for (int64_t s = 0; s < visible; ++s)
      p[s] *= inv;
    std::fill(p + visible, p + ld, 0.0f);
  }
  return ld;
}

} // namespace

void attentionForward(const float *q, const float *k, const float *v, float *out,
                      const AttentionDims &d, float *scratch) {
  int64_t blocks = (d.T + kQueryBlock - 1) / kQueryBlock;
  int64_t group = d.Hq / d.Hkv;
  int64_t work = kQueryBlock * d.S * (2 * (d.D + d.Dv) + 25);
  parallelSlots(attentionForwardTasks(d), work, [&](int64_t begin, int64_t end, int64_t slot) {
    float *P = scratch + slot * kQueryBlock * d.S;
    for (int64_t task = begin; task < end; ++task) {
      int64_t bh = task / blocks, block = task % blocks;
      int64_t b = bh / d.Hq, h = bh % d.Hq, kvHead = b * d.Hkv + h / group;
      int64_t t0 = block * kQueryBlock, rows = std::min(kQueryBlock, d.T - t0);
      const float *qBlock = q + (bh * d.T + t0) * d.D;
      const float *kHead = k + kvHead * d.S * d.D, *vHead = v + kvHead * d.S * d.Dv;
      int64_t ld = probabilities(qBlock, kHead, t0, rows, d, P);
      gemmSerial(false, false, rows, d.Dv, ld, 1.0f, P, ld, vHead, d.Dv, 0.0f,
                 out + (bh * d.T + t0) * d.Dv, d.Dv);
    }
  });
}

void attentionBackward(const float *q, const float *k, const float *v, const float *dout,
                       float *dq, float *dk, float *dv, const AttentionDims &d,
                       float *scratch) {
  int64_t blocks = (d.T + kQueryBlock - 1) / kQueryBlock;
  int64_t group = d.Hq / d.Hkv;
  int64_t work = group * d.T * d.S * (4 * d.D + 4 * d.Dv + 30);
  parallelSlots(d.B * d.Hkv, work, [&](int64_t begin, int64_t end, int64_t slot) {
    float *P = scratch + slot * 2 * kQueryBlock * d.S;
    float *dS = P + kQueryBlock * d.S;
    for (int64_t task = begin; task < end; ++task) {
      int64_t b = task / d.Hkv;
      const float *kHead = k + task * d.S * d.D, *vHead = v + task * d.S * d.Dv;
      float *dkHead = dk + task * d.S * d.D, *dvHead = dv + task * d.S * d.Dv;
      std::fill(dkHead, dkHead + d.S * d.D, 0.0f);
      std::fill(dvHead, dvHead + d.S * d.Dv, 0.0f);
      for (int64_t h = (task % d.Hkv) * group; h < (task % d.Hkv + 1) * group; ++h) {
        int64_t bh = b * d.Hq + h;
        for (int64_t block = 0; block < blocks; ++block) {
          int64_t t0 = block * kQueryBlock, rows = std::min(kQueryBlock, d.T - t0);
          const float *qBlock = q + (bh * d.T + t0) * d.D;
          const float *doBlock = dout + (bh * d.T + t0) * d.Dv;
          int64_t ld = probabilities(qBlock, kHead, t0, rows, d, P);
          // dP = dout v^T, then dS = P * (dP - rowdot(P, dP)) * scale in place.
          gemmSerial(false, true, rows, ld, d.Dv, 1.0f, doBlock, d.Dv, vHead, d.Dv, 0.0f, dS,
                     ld);
          for (int64_t r = 0; r < rows; ++r) {
            float *p = P + r * ld, *ds = dS + r * ld;
            float dot = float(dotLanes(p, ds, ld));
            for (int64_t s = 0; s < ld; ++s)
              ds[s] = p[s] * (ds[s] - dot) * d.scale;
          }
          gemmSerial(false, false, rows, d.D, ld, 1.0f, dS, ld, kHead, d.D, 0.0f,
                     dq + (bh * d.T + t0) * d.D, d.D);
          gemmSerial(true, false, ld, d.D, rows, 1.0f, dS, ld, qBlock, d.D, 1.0f, dkHead, d.D);
          gemmSerial(true, false, ld, d.Dv, rows, 1.0f, P, ld, doBlock, d.Dv, 1.0f, dvHead,
                     d.Dv);
        }
      }
    }
  });
}

} // namespace off::cpu
