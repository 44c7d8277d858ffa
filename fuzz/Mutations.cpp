#include "fuzz/Mutations.h"

#include <algorithm>
#include <iterator>

namespace off::fuzz {
namespace {

// Inputs never grow past this, so a run of mutations stays fast.
constexpr size_t kMaxInputBytes = 1 << 20;

constexpr uint8_t kInterestingBytes[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '"', '\\', '{',
                                         '}',  '[',  ']',  ',',  ':',  '-', '0',  '9',
                                         'e',  '.',  0xc0, 0xed, 0xf4, 0xf8, ' ', '\n'};

// Numbers that break length, offset, count and size fields when written as
// text into a JSON header or config.
const char *const kInterestingNumbers[] = {
    "0",   "1",   "-1",  "2",   "-0",  "7",   "65536", "2147483647", "2147483648",
    "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "1e999", "-1e999", "1e-999", "0.5", "1.0", "1e3", "007",
    "99999999999999999999999999999999999999"};

} // namespace

uint64_t Mutator::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Mutator::below(uint64_t bound) { return bound ? next() % bound : 0; }

void Mutator::flipBit(Bytes &data, std::string &what) {
  if (data.empty())
    return insertBytes(data, what);
  uint64_t bit = below(data.size() * 8);
  data[bit / 8] ^= uint8_t(1u << (bit % 8));
  what += "flip bit " + std::to_string(bit);
}

void Mutator::setInterestingByte(Bytes &data, std::string &what) {
  if (data.empty())
    return insertBytes(data, what);
  size_t at = below(data.size());
  data[at] = kInterestingBytes[below(std::size(kInterestingBytes))];
  what += "set byte " + std::to_string(at) + " to " + std::to_string(data[at]);
}

void Mutator::truncate(Bytes &data, std::string &what) {
  if (data.empty())
    return insertBytes(data, what);
  // Half the time cut a little off the end (a short write), else anywhere.
  size_t keep = below(2) ? data.size() - 1 - below(std::min<size_t>(data.size(), 16))
                         : below(data.size());
  data.resize(keep);
  what += "truncate to " + std::to_string(keep) + " bytes";
}

void Mutator::overwriteInteger(Bytes &data, std::string &what) {
  static constexpr size_t kWidths[] = {1, 2, 4, 8};
  static constexpr size_t kHeaderOffsets[] = {0, 4, 8, 12, 16};
  const size_t width = kWidths[below(4)];
  if (data.size() < width)
    return flipBit(data, what);
  // Length and count fields sit in the first bytes of the binary formats.
  size_t at = below(2) ? kHeaderOffsets[below(std::size(kHeaderOffsets))]
                       : below(data.size() - width + 1);
  at = std::min(at, data.size() - width);
  const uint64_t size = data.size();
  const uint64_t values[] = {0,          1,           2,          size - at,
                             size,       size + 1,    size - 1,   0x7f,
                             0x80,       0xff,        0x7fff,     0x8000,
                             0xffff,     0x7fffffff,  0x80000000, 0xffffffff,
                             1ull << 32, 100ull << 20, (100ull << 20) + 1,
                             ~0ull >> 1, 1ull << 63,  ~0ull,      ~0ull - 7};
  uint64_t value = values[below(std::size(values))];
  for (size_t i = 0; i < width; ++i)
    data[at + i] = uint8_t(value >> (8 * i));
  what += "write " + std::to_string(value) + " as a " + std::to_string(width) +
          "-byte integer at byte " + std::to_string(at);
}

void Mutator::replaceNumberText(Bytes &data, std::string &what) {
  std::vector<std::pair<size_t, size_t>> runs; // [begin, end) of digit runs
  for (size_t i = 0; i < data.size();) {
    if (data[i] < '0' || data[i] > '9') {
      ++i;
      continue;
    }
    size_t begin = i;
    while (i < data.size() && data[i] >= '0' && data[i] <= '9')
      ++i;
    runs.emplace_back(begin, i);
  }
  if (runs.empty())
    return overwriteInteger(data, what);
  auto [begin, end] = runs[below(runs.size())];
  std::string number = kInterestingNumbers[below(std::size(kInterestingNumbers))];
  data.erase(data.begin() + begin, data.begin() + end);
  data.insert(data.begin() + begin, number.begin(), number.end());
  what += "number at byte " + std::to_string(begin) + " -> " + number;
}

void Mutator::eraseRange(Bytes &data, std::string &what) {
  if (data.empty())
    return insertBytes(data, what);
  size_t at = below(data.size());
  size_t length = 1 + below(std::min<size_t>(data.size() - at, 32));
  data.erase(data.begin() + at, data.begin() + at + length);
  what += "erase " + std::to_string(length) + " bytes at " + std::to_string(at);
}

void Mutator::duplicateRange(Bytes &data, std::string &what) {
  if (data.empty() || data.size() > kMaxInputBytes / 2)
    return flipBit(data, what);
  size_t from = below(data.size());
  size_t length = 1 + below(std::min<size_t>(data.size() - from, 64));
  size_t to = below(data.size() + 1);
  Bytes piece(data.begin() + from, data.begin() + from + length);
  data.insert(data.begin() + to, piece.begin(), piece.end());
  what += "copy " + std::to_string(length) + " bytes from " + std::to_string(from) +
          " to " + std::to_string(to);
}

void Mutator::insertBytes(Bytes &data, std::string &what) {
  size_t at = below(data.size() + 1);
  size_t count = 1 + below(8);
  for (size_t i = 0; i < count; ++i)
    data.insert(data.begin() + at, below(2) ? uint8_t(next())
                                            : kInterestingBytes[below(std::size(kInterestingBytes))]);
  what += "insert " + std::to_string(count) + " bytes at " + std::to_string(at);
}

void Mutator::splice(Bytes &data, const Bytes &other, std::string &what) {
  if (other.empty())
    return truncate(data, what);
  size_t keep = below(data.size() + 1), from = below(other.size());
  data.resize(keep);
  data.insert(data.end(), other.begin() + from,
              other.begin() + std::min(other.size(), from + kMaxInputBytes / 2));
  what += "splice at " + std::to_string(keep) + " with another seed from byte " +
          std::to_string(from);
}

Bytes Mutator::mutate(const Bytes &input, const Bytes &other, std::string &description) {
  Bytes data = input;
  description.clear();
  const uint64_t steps = 1 + below(3);
  for (uint64_t step = 0; step < steps; ++step) {
    if (step)
      description += "; ";
    switch (below(9)) {
    case 0: flipBit(data, description); break;
    case 1: setInterestingByte(data, description); break;
    case 2: truncate(data, description); break;
    case 3: overwriteInteger(data, description); break;
    case 4: replaceNumberText(data, description); break;
    case 5: eraseRange(data, description); break;
    case 6: duplicateRange(data, description); break;
    case 7: insertBytes(data, description); break;
    default: splice(data, other, description); break;
    }
  }
  return data;
}

} // namespace off::fuzz
