// See UpdateGuard.h.

#include "runtime/train/UpdateGuard.h"

#include <cmath>

namespace off::train {
namespace {

/// Whether every adam_step of the plan runs once the global norm is final:
/// it takes the norm as an operand, or it comes after the kernel writing
/// `gradNorm` on the same stream.
bool normKnownBeforeUpdates(const plan::Plan &plan, uint32_t gradNorm) {
  for (const plan::Stream &stream : plan.streams()) {
    bool normWritten = false;
    for (const plan::Instruction &instruction : stream.instructions()) {
      if (!instruction.has_kernel())
        continue;
      const plan::Kernel &kernel = instruction.kernel();
      if (kernel.op() == "adam_step" && kernel.inputs_size() < 5 && !normWritten)
        return false;
      for (uint32_t out : kernel.outputs())
        normWritten |= out == gradNorm;
    }
  }
  return true;
}

} // namespace

UpdateGuard::UpdateGuard(PlanProgram &program, uint32_t loss, uint32_t gradNorm)
    : program_(program), loss_(loss), gradNorm_(gradNorm),
      normFirst_(normKnownBeforeUpdates(program.plan(), gradNorm)) {
  program_.setBeforeKernel([this](const plan::Kernel &kernel) { beforeKernel(kernel); });
}

UpdateGuard::~UpdateGuard() {
  program_.setBeforeKernel(nullptr);
  program_.step().skipUpdates = false;
}

void UpdateGuard::setCapture(std::function<void(const plan::Kernel &)> capture) {
  std::lock_guard lock(mutex_);
  capture_ = std::move(capture);
}

void UpdateGuard::beginRun(bool evaluating) {
  std::lock_guard lock(mutex_);
  evaluating_ = evaluating;
  decided_ = false;
  allowed_ = false;
  anyApplied_ = false;
  partialAt_.clear();
  program_.step().skipUpdates = evaluating;
}

bool UpdateGuard::applied() const {
  if (decided_)
    return allowed_;
  return std::isfinite(*program_.dataAs<float>(loss_));
}

void UpdateGuard::beforeKernel(const plan::Kernel &kernel) {
  if (kernel.op() != "adam_step")
    return;
  std::lock_guard lock(mutex_);
  if (capture_ && !evaluating_)
    capture_(kernel);
  bool skip = true;
  if (!evaluating_) {
    if (!decided_) {
      decided_ = true;
      allowed_ = std::isfinite(*program_.dataAs<float>(loss_)) &&
                 (!normFirst_ || std::isfinite(*program_.dataAs<float>(gradNorm_)));
    }
    if (allowed_ && !normFirst_ && kernel.inputs_size() >= 2) {
      const float *grad = program_.dataAs<float>(kernel.inputs(1));
      size_t count = program_.tensor(kernel.inputs(1)).size_bytes() / sizeof(float);
      for (size_t i = 0; i < count; ++i)
        if (!std::isfinite(grad[i])) {
          allowed_ = false;
          if (anyApplied_)
            partialAt_ = program_.tensor(kernel.inputs(0)).name();
          break;
        }
    }
    skip = !allowed_;
    anyApplied_ |= allowed_;
  }
  program_.step().skipUpdates = skip;
}

} // namespace off::train
