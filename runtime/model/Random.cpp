#include "runtime/model/Random.h"

#include "runtime/common/Parallel.h"

#include <cmath>
#include <numbers>

namespace off::model {

PhiloxCounter philox4x32(PhiloxCounter counter, PhiloxKey key) {
  // Round multipliers and Weyl key increments from the Philox paper.
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint64_t product0 = uint64_t(kMul0) * counter[0];
    uint64_t product1 = uint64_t(kMul1) * counter[2];
    uint32_t hi0 = uint32_t(product0 >> 32), lo0 = uint32_t(product0);
    uint32_t hi1 = uint32_t(product1 >> 32), lo1 = uint32_t(product1);
    counter = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
    key[0] += kWeyl0;
    key[1] += kWeyl1;
  }
  return counter;
}

uint64_t streamIdForName(std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : name) {
    hash ^= uint8_t(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

namespace {

// Both normals of block `pair` of stream (seed, stream).
void normalPair(uint64_t seed, uint64_t stream, uint64_t pair, double &z0, double &z1) {
  PhiloxCounter out = philox4x32(
      {uint32_t(pair), uint32_t(pair >> 32), uint32_t(stream), uint32_t(stream >> 32)},
      {uint32_t(seed), uint32_t(seed >> 32)});
  uint64_t word0 = uint64_t(out[0]) | uint64_t(out[1]) << 32;
  uint64_t word1 = uint64_t(out[2]) | uint64_t(out[3]) << 32;
  double u1 = double((word0 >> 11) + 1) * 0x1p-53; // (0, 1]: log(u1) is finite
  double u2 = double(word1 >> 11) * 0x1p-53;       // [0, 1)
  double radius = std::sqrt(-2.0 * std::log(u1));
  double angle = 2.0 * std::numbers::pi * u2;
  z0 = radius * std::cos(angle);
  z1 = radius * std::sin(angle);
}

} // namespace

double philoxNormal(uint64_t seed, uint64_t stream, uint64_t index) {
  double z0, z1;
  normalPair(seed, stream, index / 2, z0, z1);
  return index % 2 == 0 ? z0 : z1;
}

void fillNormal(float *dst, uint64_t count, double stddev, uint64_t seed, uint64_t stream,
                uint64_t firstIndex) {
  auto fillRange = [&](size_t begin, size_t end) {
    size_t i = begin;
    // A leading odd element (the pair is shared with the element before).
    if (i < end && (firstIndex + i) % 2 == 1) {
      dst[i] = float(stddev * philoxNormal(seed, stream, firstIndex + i));
      ++i;
    }
    for (; i + 1 < end; i += 2) {
      double z0, z1;
      normalPair(seed, stream, (firstIndex + i) / 2, z0, z1);
      dst[i] = float(stddev * z0);
      dst[i + 1] = float(stddev * z1);
    }
    if (i < end)
      dst[i] = float(stddev * philoxNormal(seed, stream, firstIndex + i));
  };
  if (count < (1u << 16))
    fillRange(0, size_t(count));
  else
    off::parallelFor(0, size_t(count), fillRange, 1 << 12);
}

} // namespace off::model
