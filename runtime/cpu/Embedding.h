// Token embedding lookup and its backward (a deterministic scatter-add).
//
// Legend: N positions (all of ids, flattened), V vocabulary, C channels.
//   table [V, C], ids [N] (i32 or i64), y [N, C], dy [N, C], dtable [V, C]
//
// Ids outside [0, V) throw std::out_of_range naming the first such position
// (checked before anything is written).
#pragma once

#include <cstdint>

namespace off::cpu {

/// y[n] = table[ids[n]].
template <typename Index>
void embeddingForward(const float *table, const Index *ids, float *y, int64_t N, int64_t V,
                      int64_t C);

/// dtable = zeros; dtable[ids[n]] += dy[n] for n = 0 .. N-1 in order. Threads
/// own disjoint column ranges, so each element's sum is in position order.
template <typename Index>
void embeddingBackward(const Index *ids, const float *dy, float *dtable, int64_t N, int64_t V,
                       int64_t C);

} // namespace off::cpu
