// A plan.bin Kernel as runtime/backend sees it: its attributes as
// KernelAttrs, its tensors as TensorArgs (shape and dtype; no address yet).
// The plan loader binds kernels with these, and the compiler sizes each
// kernel's workspace with the same arguments the runtime checks it with.
#pragma once

#include "runtime/backend/Kernel.h"
#include "runtime/plan/Plan.h"

#include <vector>

namespace off::plan {

/// Throws std::invalid_argument for an attribute without a value.
backend::KernelAttrs kernelAttrs(const Kernel &kernel);

/// Shape and dtype, data nullptr. Throws std::invalid_argument for a dtype
/// the runtime does not know.
backend::TensorArg tensorArg(const Tensor &tensor);

/// Every input and output of `kernel` (ids checked by validatePlan).
std::vector<backend::TensorArg> kernelInputs(const Plan &plan, const Kernel &kernel);
std::vector<backend::TensorArg> kernelOutputs(const Plan &plan, const Kernel &kernel);

} // namespace off::plan
