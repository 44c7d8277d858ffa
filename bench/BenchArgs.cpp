#include "bench/BenchArgs.h"
#include "runtime/common/HumanSize.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace off::bench {

bool ArgReader::next() {
  at_ = nextAt_;
  nextAt_ = at_ + 1;
  return at_ < args_.size();
}

std::string ArgReader::text() {
  // A value consumed here is skipped by next().
  if (nextAt_ >= args_.size() || nextAt_ != at_ + 1)
    fail("needs a value");
  return args_[nextAt_++];
}

uint64_t ArgReader::size() {
  std::string value = text();
  std::optional<uint64_t> parsed = off::parseHumanSize(value);
  if (!parsed || *parsed == 0)
    fail("'" + value + "' is not a size (e.g. 256M, 4G)");
  return *parsed;
}

int64_t ArgReader::integer(int64_t min, int64_t max) {
  std::string value = text();
  int64_t parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size())
    fail("'" + value + "' is not a whole number");
  if (parsed < min)
    fail("must be >= " + std::to_string(min));
  if (parsed > max)
    fail("must be <= " + std::to_string(max));
  return parsed;
}

double ArgReader::number(double min) {
  std::string value = text();
  double parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(parsed))
    fail("'" + value + "' is not a number");
  if (parsed < min)
    fail("must be >= " + std::to_string(min));
  return parsed;
}

std::string ArgReader::choice(std::initializer_list<const char *> choices) {
  std::string value = text(), allowed;
  for (const char *c : choices) {
    if (value == c)
      return value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(c);
  }
  fail("'" + value + "' is not one of " + allowed);
}

void ArgReader::unknown() const { throw UsageError("unknown option '" + flag() + "'"); }

void ArgReader::fail(const std::string &problem) const {
  throw UsageError(flag() + ": " + problem);
}

int runBenchmark(const char *name, const std::function<int()> &body) {
  try {
    return body();
  } catch (const UsageError &e) {
    std::fprintf(stderr, "offrt bench %s: %s\n", name, e.what());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "offrt bench %s: %s\n", name, e.what());
    return 1;
  }
}

} // namespace off::bench
