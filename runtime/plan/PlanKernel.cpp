#include "runtime/plan/PlanKernel.h"

#include "runtime/plan/PlanVocabulary.h"

#include <stdexcept>

namespace off::plan {

backend::KernelAttrs kernelAttrs(const Kernel &kernel) {
  using backend::AttrValue;
  backend::KernelAttrs attrs;
  for (const auto &[name, attr] : kernel.attrs()) {
    switch (attr.value_case()) {
    case Attr::kI: attrs.set(name, AttrValue(int64_t(attr.i()))); break;
    case Attr::kF: attrs.set(name, AttrValue(attr.f())); break;
    case Attr::kB: attrs.set(name, AttrValue(attr.b())); break;
    case Attr::kS: attrs.set(name, AttrValue(attr.s())); break;
    case Attr::kInts:
      attrs.set(name, AttrValue(std::vector<int64_t>(attr.ints().values().begin(),
                                                     attr.ints().values().end())));
      break;
    default: throw std::invalid_argument("attribute '" + name + "' has no value");
    }
  }
  return attrs;
}

backend::TensorArg tensorArg(const Tensor &tensor) {
  std::optional<off::DType> dtype = toDType(tensor.dtype());
  if (!dtype)
    throw std::invalid_argument("tensor '" + tensor.name() + "' has no dtype this runtime knows");
  return backend::TensorArg{nullptr, {tensor.shape().begin(), tensor.shape().end()}, *dtype};
}

std::vector<backend::TensorArg> kernelInputs(const Plan &plan, const Kernel &kernel) {
  std::vector<backend::TensorArg> args;
  for (uint32_t id : kernel.inputs())
    args.push_back(tensorArg(plan.tensors(int(id))));
  return args;
}

std::vector<backend::TensorArg> kernelOutputs(const Plan &plan, const Kernel &kernel) {
  std::vector<backend::TensorArg> args;
  for (uint32_t id : kernel.outputs())
    args.push_back(tensorArg(plan.tensors(int(id))));
  return args;
}

} // namespace off::plan
