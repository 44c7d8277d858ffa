// See UpdateGuard.h.

#include "runtime/train/UpdateGuard.h"

#include "runtime/common/Float16.h"

#include <cmath>
#include <vector>

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
  program_.setBeforeKernel(
      [this](const plan::Kernel &kernel, uint32_t stream) { beforeKernel(kernel, stream); });
}

UpdateGuard::~UpdateGuard() {
  program_.setBeforeKernel(nullptr);
  program_.step().skipUpdates = false;
}

void UpdateGuard::setCapture(std::function<void(const plan::Kernel &, uint32_t)> capture) {
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
  float loss;
  program_.read(loss_, &loss);
  return std::isfinite(loss);
}

void UpdateGuard::beforeKernel(const plan::Kernel &kernel, uint32_t stream) {
  if (kernel.op() != "adam_step")
    return;
  std::lock_guard lock(mutex_);
  if (capture_ && !evaluating_)
    capture_(kernel, stream);
  bool skip = true;
  if (!evaluating_) {
    auto finiteScalar = [&](uint32_t id) {
      float value;
      program_.readAt(stream, id, &value);
      return std::isfinite(value);
    };
    if (!decided_) {
      decided_ = true;
      allowed_ = finiteScalar(loss_) && (!normFirst_ || finiteScalar(gradNorm_));
    }
    if (allowed_ && !normFirst_ && kernel.inputs_size() >= 2) {
      const plan::Tensor &tensor = program_.tensor(kernel.inputs(1));
      const DType dtype = tensor.dtype() == plan::BF16 ? DType::BF16 : DType::F32;
      const size_t count = tensor.size_bytes() / dtypeSize(dtype);
      std::vector<std::byte> bytes(tensor.size_bytes());
      program_.readAt(stream, kernel.inputs(1), bytes.data());
      std::vector<float> grad(count);
      convertToFloat32(dtype, bytes.data(), count, grad.data());
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
