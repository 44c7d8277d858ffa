// A cheap fingerprint of a tensor's bytes, for weights a plan references in
// files it does not contain (plan.proto WeightSource): offc computes it when
// compiling, offrt checks it before reading, so a re-exported or replaced
// file is an error instead of a different model.
#pragma once

#include <cstdint>

namespace off {

/// FNV-1a (64-bit) over the first and the last 4 KiB of the `bytes` bytes at
/// `data` (all of them when there are at most 8 KiB), then the length.
uint64_t sampleChecksum(const unsigned char *data, uint64_t bytes);

} // namespace off
