#include "runtime/optim/HostOptimizerKernels.h"

#include "runtime/optim/AdamW.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <stdexcept>
#include <string>

namespace off::optim {
namespace {

using backend::KernelCall;
using backend::TensorArg;

[[noreturn]] void fail(const std::string &message) {
  throw std::invalid_argument("adam_step: " + message);
}

AdamWHyper hyperOf(const KernelCall &call) {
  AdamWHyper hyper;
  hyper.lr = call.attrs.getFloat("lr");
  hyper.beta1 = call.attrs.getFloat("beta1");
  hyper.beta2 = call.attrs.getFloat("beta2");
  hyper.eps = call.attrs.getFloat("eps");
  hyper.weightDecay = call.attrs.getFloat("weight_decay");
  return hyper;
}

void validateAdamStep(const KernelCall &call) {
  if (call.inputs.size() != 4 && call.inputs.size() != 5)
    fail("needs inputs param, grad, exp_avg, exp_avg_sq[, norm], got " +
         std::to_string(call.inputs.size()));
  if (call.outputs.size() != 3 && call.outputs.size() != 4)
    fail("has 3 results (param, exp_avg, exp_avg_sq) and an optional compute copy, got " +
         std::to_string(call.outputs.size()));
  const TensorArg &param = call.inputs[0];
  static const char *const kInputs[] = {"param", "grad", "exp_avg", "exp_avg_sq"};
  static const char *const kOutputs[] = {"new_param", "new_exp_avg", "new_exp_avg_sq"};
  auto expectLikeParam = [&](const TensorArg &t, const char *role) {
    if (t.dtype != DType::F32 || t.shape != param.shape)
      fail(std::string(role) + " must be f32 with the param's shape " + param.describe() +
           ", got " + t.describe());
  };
  for (size_t i = 0; i < 4; ++i)
    if (i != 1 || call.inputs[1].dtype != DType::BF16) // bf16 gradients are read as f32
      expectLikeParam(call.inputs[i], kInputs[i]);
  if (call.inputs[1].shape != param.shape)
    fail("grad must have the param's shape " + param.describe() + ", got " +
         call.inputs[1].describe());
  for (size_t i = 0; i < 3; ++i)
    expectLikeParam(call.outputs[i], kOutputs[i]);
  if (call.outputs.size() == 4) {
    const TensorArg &copy = call.outputs[3];
    if ((copy.dtype != DType::BF16 && copy.dtype != DType::F32) || copy.shape != param.shape)
      fail("the compute copy must be bf16 or f32 with the param's shape " + param.describe() +
           ", got " + copy.describe());
  }
  if (call.inputs.size() == 5 && (call.inputs[4].dtype != DType::F32 || call.inputs[4].numel() != 1))
    fail("the norm operand must be one f32 value, got " + call.inputs[4].describe());
  if (call.attrs.has("max_grad_norm")) {
    if (call.inputs.size() != 5)
      fail("max_grad_norm needs the norm operand");
    call.attrs.getFloat("max_grad_norm");
  }
  AdamWHyper hyper = hyperOf(call);
  adamwStepScalars(hyper, 1); // torch's range checks
  // ... which let NaN through, and eps 0 divides by zero where v is 0.
  for (auto [what, value] : {std::pair<const char *, double>{"lr", hyper.lr}, {"eps", hyper.eps}})
    if (!std::isfinite(float(value)) || !(float(value) > 0))
      fail(std::string(what) + " is " + std::to_string(value) +
           "; it must be a positive number finite in fp32");
}

/// Output i's storage: its input's (in place) or a copy of it made now.
float *updated(const KernelCall &call, size_t output, size_t input) {
  const TensorArg &in = call.inputs[input], &out = call.outputs[output];
  if (out.data != in.data && in.bytes() != 0) {
    auto overlaps = [&](const TensorArg &t) {
      auto *a = static_cast<const std::byte *>(out.data), *b = static_cast<const std::byte *>(t.data);
      return a < b + t.bytes() && b < a + out.bytes();
    };
    for (const TensorArg &t : call.inputs)
      if (overlaps(t))
        throw std::invalid_argument("adam_step: an output overlaps an input it is not "
                                    "the update of");
    std::memcpy(out.data, in.data, in.bytes());
  }
  return out.as<float>();
}

void runAdamStep(const KernelCall &call) {
  AdamWHyper hyper = hyperOf(call);
  int64_t step = 1;
  AdamWRun run;
  if (call.step) {
    step = call.step->optimizerStep;
    if (call.step->lr)
      hyper.lr = *call.step->lr;
    run.pool = call.step->optimizerPool;
  }
  AdamWTensor tensor;
  tensor.param = updated(call, 0, 0);
  tensor.expAvg = updated(call, 1, 2);
  tensor.expAvgSq = updated(call, 2, 3);
  if (call.step && call.step->skipUpdates)
    return; // the outputs hold the inputs: nothing moves
  tensor.grad = call.inputs[1].data;
  tensor.gradDtype = call.inputs[1].dtype == DType::BF16 ? GradDtype::BF16 : GradDtype::F32;
  if (call.outputs.size() == 4) {
    tensor.paramOut = call.outputs[3].data;
    tensor.outDtype = call.outputs[3].dtype == DType::BF16 ? OutDtype::BF16 : OutDtype::F32;
  }
  tensor.count = size_t(call.inputs[0].numel());
  if (call.attrs.has("max_grad_norm"))
    tensor.gradScale =
        clipCoefficient(*call.inputs[4].as<float>(), call.attrs.getFloat("max_grad_norm"));
  adamwStep(tensor, hyper, step, run);
}

} // namespace

const backend::KernelTable &hostOptimizerKernels() {
  static const backend::KernelTable table = [] {
    backend::KernelTable t("host-optimizer");
    t.add("adam_step", {validateAdamStep, runAdamStep, nullptr});
    return t;
  }();
  return table;
}

} // namespace off::optim
