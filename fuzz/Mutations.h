// Deterministic mutations of seed files for the replay driver: the kinds of
// damage real files suffer (bit rot, truncation, a corrupted length or
// offset field, a wrong number in a JSON header) without libFuzzer, so that
// ctest exercises every target the same way on every run and compiler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace off::fuzz {

using Bytes = std::vector<uint8_t>;

class Mutator {
public:
  explicit Mutator(uint64_t seed) : state_(seed) {}

  /// A copy of `input` with one to three mutations applied; `other` (another
  /// seed) is the donor for splices. `description` says what was done, e.g.
  /// "flip bit 77; truncate to 40 bytes".
  Bytes mutate(const Bytes &input, const Bytes &other, std::string &description);

private:
  uint64_t state_;

  uint64_t next();                // splitmix64
  uint64_t below(uint64_t bound); // uniform enough in [0, bound); 0 when bound is 0

  void flipBit(Bytes &data, std::string &what);
  void setInterestingByte(Bytes &data, std::string &what);
  void truncate(Bytes &data, std::string &what);
  void overwriteInteger(Bytes &data, std::string &what);
  void replaceNumberText(Bytes &data, std::string &what);
  void eraseRange(Bytes &data, std::string &what);
  void duplicateRange(Bytes &data, std::string &what);
  void insertBytes(Bytes &data, std::string &what);
  void splice(Bytes &data, const Bytes &other, std::string &what);
};

} // namespace off::fuzz
