// Learning-rate schedules of `offrt train --lr-schedule`, the same numbers
// as transformers' schedulers (torch's LambdaLR over transformers' lambdas,
// evaluated in double in the same order):
//
//   constant  get_constant_schedule_with_warmup
//   linear    get_linear_schedule_with_warmup
//   cosine    get_cosine_schedule_with_warmup (num_cycles 0.5), or with
//             --min-lr get_cosine_with_min_lr_schedule_with_warmup(min_lr)
//
// Optimizer step s (1-based) uses lr * lambda(s - 1): torch's scheduler is
// created at lambda(0) and stepped after each optimizer.step(), so with
// warmup the first step's lr is 0, as in transformers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace off::train {

enum class LrScheduleKind { Constant, Linear, Cosine };

/// "constant", "linear", "cosine"; nullopt for anything else.
std::optional<LrScheduleKind> parseLrScheduleKind(const std::string &name);
const char *lrScheduleName(LrScheduleKind kind);

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::Constant;
  uint64_t warmupSteps = 0;
  std::optional<double> minLr; // cosine only: the floor, as min_lr

  /// The lr of optimizer step `step` (1-based) of a run of `totalSteps`
  /// steps whose peak lr is `lr`.
  double lrAt(uint64_t step, uint64_t totalSteps, double lr) const;

  /// Empty, or why the schedule cannot be used with this peak lr and step
  /// count (a min-lr above the peak, ...).
  std::string problem(double lr) const;

  /// "cosine, warmup 100, min-lr 1e-05" for messages.
  std::string describe() const;
};

} // namespace off::train
