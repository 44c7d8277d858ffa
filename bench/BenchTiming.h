// Timing helpers the benchmarks share.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace off::bench {

using BenchClock = std::chrono::steady_clock;

inline double secondsSince(BenchClock::time_point start) {
  return std::chrono::duration<double>(BenchClock::now() - start).count();
}

/// Seconds per call of `fn`: one warm-up call, then calls until `minTime`
/// seconds have passed (at least one).
template <typename Fn> double secondsPerCall(Fn &&fn, double minTime) {
  fn();
  int calls = 0;
  const auto start = BenchClock::now();
  double elapsed = 0.0;
  do {
    fn();
    ++calls;
    elapsed = secondsSince(start);
  } while (elapsed < minTime);
  return elapsed / calls;
}

inline double median(std::vector<double> values) {
  if (values.empty())
    return 0.0;
  std::sort(values.begin(), values.end());
  const size_t half = values.size() / 2;
  return values.size() % 2 ? values[half] : 0.5 * (values[half - 1] + values[half]);
}

} // namespace off::bench
