// Scaled dot-product attention with grouped-query heads and an optional
// causal mask, and its backward (which recomputes the probabilities).
//
// Legend: B batch, Hq query heads, Hkv key/value heads (Hq % Hkv == 0),
// T queries, S keys, D query/key head dim, Dv value head dim.
//   q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv]
//   out, dout [B, Hq, T, Dv];  dq like q, dk like k, dv like v
// Query head h reads key/value head h / (Hq / Hkv). With `causal`, query t
// sees keys s <= t + (S - T) (T <= S). P = softmax(scale * q k^T) over the
// visible keys; out = P v.
//
// Arithmetic, shared by forward and backward so that the recomputed P has
// the same bits: queries in blocks of kQueryBlock rows; a block's scores
// are one BLAS product (alpha = scale) against the keys its last row sees;
// per row, max in f32, e = exp(x - max) (Exp.h), sum = sumLanes(e) (Dot.h,
// double), p = e * f32(1 / sum), 0 past the row's visible keys. Backward, per key/
// value head, over its query heads in order and their blocks in order:
//   dP = dout v^T, d_t = dotLanes(P_t, dP_t), dS = P * (dP - d_t) * scale,
//   dq = dS k, dk += dS^T q, dv += P^T dout (BLAS products).
// Forward tasks are (b, h, query block), backward tasks (b, key/value head):
// no result depends on the thread count.
#pragma once

#include <cstdint>

namespace off::cpu {

struct AttentionDims {
  int64_t B = 1, Hq = 1, Hkv = 1, T = 1, S = 1, D = 1, Dv = 1;
  bool causal = false;
  float scale = 1.0f;
};

constexpr int64_t kQueryBlock = 64;

/// Query blocks of all heads: the forward's parallel tasks.
inline int64_t attentionForwardTasks(const AttentionDims &d) {
  return d.B * d.Hq * ((d.T + kQueryBlock - 1) / kQueryBlock);
}

/// Floats of scratch each direction needs (defined in CpuWorkspace.cpp): per scratch slot (CpuParallel.h)
/// one block's probabilities [kQueryBlock, S] (backward: and their grads).
int64_t attentionForwardScratch(const AttentionDims &dims);
int64_t attentionBackwardScratch(const AttentionDims &dims);

/// `scratch`: attentionForwardScratch(dims) floats.
void attentionForward(const float *q, const float *k, const float *v, float *out,
                      const AttentionDims &dims, float *scratch);

/// `scratch`: attentionBackwardScratch(dims) floats.
void attentionBackward(const float *q, const float *k, const float *v, const float *dout,
                       float *dq, float *dk, float *dv, const AttentionDims &dims,
                       float *scratch);

} // namespace off::cpu
