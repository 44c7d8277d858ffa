// The sums of ReduceOrder::RankOrder: `ranks` contributions of `count`
// elements each, `contributions[r * count + i]`, summed left to right in
// rank order into `out`. Kept apart from the transports so that every
// transport (MPI now, NCCL's host fallback later) and the single-rank
// reference use one definition of the bits.
#pragma once

#include "runtime/common/DType.h"

#include <cstdint>

namespace off::comm {

/// F32: out[i] = ((c0[i] + c1[i]) + c2[i]) + ...; BF16: the same with each
/// addition done in fp32 and rounded to bf16 (the plan's bf16 off.add, which
/// accumulates micro-batch gradients on one rank). Throws CommError for
/// other dtypes.
void sumInRankOrder(const void *contributions, int ranks, uint64_t count, DType dtype,
                    void *out);

/// The transport's bf16 sum (ReduceOrder::Transport): a + b in fp32, rounded
/// to bf16, element-wise, into `inout`.
void addBf16Rounded(const uint16_t *in, uint16_t *inout, uint64_t count);

/// F32 and BF16 (the dtypes collectives sum); throws CommError naming `what`
/// otherwise.
void checkSummable(DType dtype, const char *what);

} // namespace off::comm
