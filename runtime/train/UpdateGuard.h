// The non-finite guard of `offrt train`: decides, before the first
// parameter of a step is updated, whether the step updates anything at all.
//
// A step whose loss or global gradient norm is NaN or infinite is skipped:
// no weight and no AdamW moment changes (the data position moves on). The
// decision needs the norm before the first adam_step; that holds when the
// adam_steps take the norm as an operand (clipping) or run after it on the
// compute stream. In a plan that overlaps the updates with the backward
// (`offc compile --optimizer-stream --clip 0`) the norm comes last, so each
// gradient is checked as its update comes: a non-finite one found after
// others were applied leaves the step half done, which is reported as an
// error (the run stops without saving).
//
// It owns the program's before-kernel hook (PlanProgram::setBeforeKernel)
// and sets StepContext::skipUpdates from it; the same switch skips every
// update while evaluating (--eval-data).
#pragma once

#include "runtime/train/PlanProgram.h"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace off::train {

class UpdateGuard {
public:
  /// `loss` and `gradNorm`: the plan's scalar outputs.
  UpdateGuard(PlanProgram &program, uint32_t loss, uint32_t gradNorm);
  ~UpdateGuard();
  UpdateGuard(const UpdateGuard &) = delete;
  UpdateGuard &operator=(const UpdateGuard &) = delete;

  /// Also called before each adam_step, first (--save-grads); empty: none.
  void setCapture(std::function<void(const plan::Kernel &, uint32_t stream)> capture);

  /// Before each run of the plan: forget the last decision. `evaluating`:
  /// skip every update of this run.
  void beginRun(bool evaluating);

  /// After the run: whether the updates were applied (false: skipped). A
  /// plan without adam_step "applies" a step whose loss is finite.
  bool applied() const;
  /// Non-empty when a non-finite gradient came after updates were applied
  /// (the overlapped plan): the parameter's name.
  const std::string &partialAt() const { return partialAt_; }
  /// Whether the norm is known before the first update in this plan.
  bool normFirst() const { return normFirst_; }

private:
  void beforeKernel(const plan::Kernel &kernel, uint32_t stream);

  PlanProgram &program_;
  uint32_t loss_, gradNorm_;
  bool normFirst_ = true;
  std::function<void(const plan::Kernel &, uint32_t)> capture_;
  std::mutex mutex_;
  bool evaluating_ = false, decided_ = false, allowed_ = false, anyApplied_ = false;
  std::string partialAt_;
};

} // namespace off::train
