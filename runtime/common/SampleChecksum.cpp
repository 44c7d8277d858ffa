#include "runtime/common/SampleChecksum.h"

namespace off {

namespace {

constexpr uint64_t kSample = 4096;

void fnv(uint64_t &hash, const unsigned char *data, uint64_t bytes) {
  for (uint64_t i = 0; i < bytes; ++i) {
    hash ^= data[i];
    hash *= 0x100000001b3ull;
  }
}

} // namespace

uint64_t sampleChecksum(const unsigned char *data, uint64_t bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  if (bytes <= 2 * kSample) {
    fnv(hash, data, bytes);
  } else {
    fnv(hash, data, kSample);
    fnv(hash, data + bytes - kSample, kSample);
  }
  unsigned char length[8];
  for (int b = 0; b < 8; ++b)
    length[b] = static_cast<unsigned char>(bytes >> (8 * b));
  fnv(hash, length, 8);
  return hash;
}

} // namespace off
