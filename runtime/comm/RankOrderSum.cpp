// See RankOrderSum.h.

#include "runtime/comm/RankOrderSum.h"

#include "runtime/comm/Communicator.h"
#include "runtime/common/Float16.h"

#include <algorithm>
#include <cstring>

namespace off::comm {

void checkSummable(DType dtype, const char *what) {
  if (dtype != DType::F32 && dtype != DType::BF16)
    throw CommError(std::string(what) + ": sums f32 or bf16, not " + dtypeName(dtype));
}

void sumInRankOrder(const void *contributions, int ranks, uint64_t count, DType dtype,
                    void *out) {
  checkSummable(dtype, "sum in rank order");
  // Blocks of a few thousand elements: the running sums stay in L1 while
  // every rank's part is added, in rank order, to each.
  constexpr uint64_t kBlock = 2048;
  float sums[kBlock];
  for (uint64_t begin = 0; begin < count; begin += kBlock) {
    const uint64_t n = std::min(kBlock, count - begin);
    if (dtype == DType::F32) {
      const float *parts = static_cast<const float *>(contributions);
      std::memcpy(sums, parts + begin, n * sizeof(float));
      for (int r = 1; r < ranks; ++r) {
        const float *part = parts + uint64_t(r) * count + begin;
        for (uint64_t i = 0; i < n; ++i)
          sums[i] += part[i];
      }
      std::memcpy(static_cast<float *>(out) + begin, sums, n * sizeof(float));
    } else {
      const uint16_t *parts = static_cast<const uint16_t *>(contributions);
      for (uint64_t i = 0; i < n; ++i)
        sums[i] = bf16ToFloat(parts[begin + i]);
      for (int r = 1; r < ranks; ++r) {
        const uint16_t *part = parts + uint64_t(r) * count + begin;
        for (uint64_t i = 0; i < n; ++i)
          sums[i] = bf16ToFloat(floatToBf16(sums[i] + bf16ToFloat(part[i])));
      }
      uint16_t *result = static_cast<uint16_t *>(out) + begin;
      for (uint64_t i = 0; i < n; ++i)
        result[i] = floatToBf16(sums[i]);
    }
  }
}

void addBf16Rounded(const uint16_t *in, uint16_t *inout, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i)
    inout[i] = floatToBf16(bf16ToFloat(in[i]) + bf16ToFloat(inout[i]));
}

const char *reduceOrderName(ReduceOrder order) {
  return order == ReduceOrder::RankOrder ? "rank-order" : "transport";
}

} // namespace off::comm
