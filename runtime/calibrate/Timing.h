// Timing helpers shared by the calibration's measurements.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>

namespace off::calibrate {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Work per second of `call` (which does `workPerCall` units), best of
/// batches over at least `minSeconds` and at least 3 batches; one untimed
/// call first (library loading, first touch, autotuning). `sync` waits for
/// enqueued work.
inline double bestRate(double workPerCall, double minSeconds, const std::function<void()> &call,
                       const std::function<void()> &sync) {
  call();
  sync();
  double best = 0.0, total = 0.0;
  int batch = 1, batches = 0;
  while (total < minSeconds || batches < 3) {
    auto start = Clock::now();
    for (int i = 0; i < batch; ++i)
      call();
    sync();
    double seconds = secondsSince(start);
    total += seconds;
    ++batches;
    best = std::max(best, workPerCall * batch / seconds);
    if (seconds < minSeconds / 8 && batch < (1 << 20))
      batch *= 2;
  }
  return best;
}

} // namespace off::calibrate
