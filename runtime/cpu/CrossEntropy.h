// Mean softmax cross-entropy over positions and its backward.
//   loss = (1/N) sum_n (logsumexp(logits[n]) - logits[n, targets[n]])
//   dlogits[n, v] = (softmax(logits[n])[v] - [v == targets[n]]) * (dloss / N)
//
// Legend: N positions (all leading dimensions), V vocabulary.
//   logits [N, V], targets [N] (i32 or i64), loss [] (one f32),
//   dloss [] (one f32), dlogits [N, V] (may be logits, in place)
//
// Arithmetic: per row, max in f32, e = exp(x - max) in f32 (Exp.h), their
// sum as sumLanes (Dot.h, double), logsumexp = max + log(sum) in double; the
// row losses are added in row order in double and divided by N; the
// backward's p = e * f32(1 / sum), dlogits = (p - onehot) * f32(dloss / N). Targets outside
// [0, V) throw std::out_of_range naming the first such position.
#pragma once

#include <cstdint>

namespace off::cpu {

/// Bytes of scratch crossEntropyForward needs: each row's loss (double)
/// and per scratch slot (CpuParallel.h) one row of exponentials (defined in CpuWorkspace.cpp).
int64_t crossEntropyForwardScratch(int64_t N, int64_t V);

/// `scratch`: crossEntropyForwardScratch(N, V) bytes, 8-byte aligned.
template <typename Index>
float crossEntropyForward(const float *logits, const Index *targets, int64_t N, int64_t V,
                          void *scratch);

template <typename Index>
void crossEntropyBackward(const float *logits, const Index *targets, float dloss,
                          float *dlogits, int64_t N, int64_t V);

} // namespace off::cpu
