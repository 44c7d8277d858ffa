// The runtime's random numbers: Philox4x32-10 (Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3", SC'11), a counter-based generator:
// output = bijection(counter, key), so any element of any stream can be
// computed directly, in any order, on any thread, with the same result.
//
// Normals: block j of a stream gives two 64-bit words; each becomes a
// uniform with 53 random bits, u1 in (0, 1] and u2 in [0, 1), and the
// Box-Muller transform turns them into elements 2j and 2j+1:
//   z0 = sqrt(-2 ln u1) cos(2 pi u2),  z1 = sqrt(-2 ln u1) sin(2 pi u2)
// computed in double. These do not match torch's bits (torch uses MT19937 on
// CPU); they are reproducible across runs, thread counts and machines with
// the same libm.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace off::model {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

/// One Philox4x32-10 block.
PhiloxCounter philox4x32(PhiloxCounter counter, PhiloxKey key);

/// 64-bit FNV-1a of a name: the stream id of a tensor.
uint64_t streamIdForName(std::string_view name);

/// Element `index` of the standard-normal stream (seed, stream): key =
/// seed's two halves, counter = {index/2 low, high, stream low, high}.
double philoxNormal(uint64_t seed, uint64_t stream, uint64_t index);

/// Fills dst[i] = float(stddev * normal(seed, stream, firstIndex + i)) for
/// i < count, using the default thread pool for large counts (the result
/// does not depend on the thread count).
void fillNormal(float *dst, uint64_t count, double stddev, uint64_t seed, uint64_t stream,
                uint64_t firstIndex = 0);

/// The serializable state of a sequential random stream for training-time
/// uses (trainer_state.json holds it): the next draw is element `offset` of
/// stream (seed, stream).
struct RngState {
  uint64_t seed = 0;
  uint64_t stream = 0;
  uint64_t offset = 0;

  /// The next standard normal; advances offset.
  double nextNormal() { return philoxNormal(seed, stream, offset++); }
  bool operator==(const RngState &) const = default;
};

} // namespace off::model
