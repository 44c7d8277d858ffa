#include "runtime/cpu/Embedding.h"

#include "runtime/cpu/CpuParallel.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace off::cpu {

namespace {
template <typename Index> void checkIds(const Index *ids, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n)
    if (ids[n] < 0 || int64_t(ids[n]) >= V)
      throw std::out_of_range("id " + std::to_string(int64_t(ids[n])) + " at position " +
                              std::to_string(n) + " is outside the vocabulary [0, " +
                              std::to_string(V) + ")");
}
} // namespace

template <typename Index>
void embeddingForward(const float *table, const Index *ids, float *y, int64_t N, int64_t V,
                      int64_t C) {
  checkIds(ids, N, V);
  parallelRange(N, C, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n)
      std::memcpy(y + n * C, table + int64_t(ids[n]) * C, size_t(C) * sizeof(float));
  });
}

template <typename Index>
void embeddingBackward(const Index *ids, const float *dy, float *dtable, int64_t N, int64_t V,
                       int64_t C) {
  checkIds(ids, N, V);
  // Column runs of 16 floats (a cache line): no two threads share one.
  constexpr int64_t kRun = 16;
  int64_t runs = (C + kRun - 1) / kRun;
  parallelRange(runs, (N + V) * kRun, [&](int64_t begin, int64_t end) {
    int64_t c0 = begin * kRun, c1 = std::min(C, end * kRun);
    for (int64_t v = 0; v < V; ++v)
      std::fill(dtable + v * C + c0, dtable + v * C + c1, 0.0f);
    for (int64_t n = 0; n < N; ++n) {
      float *row = dtable + int64_t(ids[n]) * C;
      const float *g = dy + n * C;
      for (int64_t c = c0; c < c1; ++c)
        row[c] += g[c];
    }
  });
}

template void embeddingForward<int32_t>(const float *, const int32_t *, float *, int64_t,
                                        int64_t, int64_t);
template void embeddingForward<int64_t>(const float *, const int64_t *, float *, int64_t,
                                        int64_t, int64_t);
template void embeddingBackward<int32_t>(const int32_t *, const float *, float *, int64_t,
                                         int64_t, int64_t);
template void embeddingBackward<int64_t>(const int64_t *, const float *, float *, int64_t,
                                         int64_t, int64_t);

} // namespace off::cpu
