// See LrSchedule.h. Each lambda is transformers' (optimization.py) written
// in C++ with the same operations in the same order, so the doubles match.

#include "runtime/train/LrSchedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace off::train {
namespace {

constexpr double kPi = 3.141592653589793; // math.pi
constexpr double kNumCycles = 0.5;        // transformers' default

double warmupFactor(uint64_t current, uint64_t warmup) {
  return double(current) / double(std::max<uint64_t>(1, warmup));
}

} // namespace

std::optional<LrScheduleKind> parseLrScheduleKind(const std::string &name) {
  if (name == "constant")
    return LrScheduleKind::Constant;
  if (name == "linear")
    return LrScheduleKind::Linear;
  if (name == "cosine")
    return LrScheduleKind::Cosine;
  return std::nullopt;
}

const char *lrScheduleName(LrScheduleKind kind) {
  switch (kind) {
  case LrScheduleKind::Constant: return "constant";
  case LrScheduleKind::Linear: return "linear";
  case LrScheduleKind::Cosine: return "cosine";
  }
  return "?";
}

double LrSchedule::lrAt(uint64_t step, uint64_t totalSteps, double lr) const {
  // torch's LambdaLR: base_lr * lmbda(last_epoch), last_epoch = step - 1.
  const uint64_t current = step > 0 ? step - 1 : 0;
  const uint64_t warmup = warmupSteps;
  double factor = 1.0;
  if (current < warmup) {
    factor = warmupFactor(current, warmup);
  } else if (kind == LrScheduleKind::Linear) {
    // max(0.0, float(total - current) / float(max(1, total - warmup)))
    double left = double(int64_t(totalSteps) - int64_t(current));
    double span = double(std::max<int64_t>(1, int64_t(totalSteps) - int64_t(warmup)));
    factor = std::max(0.0, left / span);
  } else if (kind == LrScheduleKind::Cosine) {
    double span = double(std::max<int64_t>(1, int64_t(totalSteps) - int64_t(warmup)));
    double progress = double(current - warmup) / span;
    factor = 0.5 * (1.0 + std::cos(kPi * kNumCycles * 2.0 * progress));
    if (minLr) {
      double minLrRate = *minLr / lr;
      factor = factor * (1 - minLrRate) + minLrRate;
    }
    factor = std::max(0.0, factor);
  }
  return lr * factor;
}

std::string LrSchedule::problem(double lr) const {
  if (minLr && kind != LrScheduleKind::Cosine)
    return std::string("--min-lr applies to --lr-schedule cosine, not ") + lrScheduleName(kind);
  if (minLr && !(*minLr >= 0 && *minLr <= lr)) {
    char text[96];
    std::snprintf(text, sizeof text, "--min-lr %g must be between 0 and the lr (%g)", *minLr, lr);
    return text;
  }
  return "";
}

std::string LrSchedule::describe() const {
  std::string text = lrScheduleName(kind);
  if (warmupSteps)
    text += ", warmup " + std::to_string(warmupSteps);
  if (minLr) {
    char value[32];
    std::snprintf(value, sizeof value, "%g", *minLr);
    text += std::string(", min-lr ") + value;
  }
  return text;
}

} // namespace off::train
