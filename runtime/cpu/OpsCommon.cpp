#include "runtime/cpu/OpsCommon.h"

#include <algorithm>

namespace off::cpu::detail {

std::string shapeText(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

Args::Args(const KernelCall &call, size_t inputs, size_t outputs, bool variadic) : call_(call) {
  bool inputsOk = variadic ? call.inputs.size() >= inputs : call.inputs.size() == inputs;
  if (!inputsOk)
    fail("takes " + std::string(variadic ? "at least " : "") + std::to_string(inputs) +
         " input(s), got " + std::to_string(call.inputs.size()));
  if (call.outputs.size() != outputs)
    fail("produces " + std::to_string(outputs) + " output(s), got " +
         std::to_string(call.outputs.size()));
  for (const auto *list : {&call.inputs, &call.outputs})
    for (const TensorArg &t : *list)
      for (int64_t d : t.shape)
        if (d < 0)
          fail("negative dimension in " + t.describe());
}

void Args::fail(const std::string &message) const {
  throw std::invalid_argument(std::string(call_.op) + ": " + message);
}

const TensorArg &Args::in(size_t i, const char * /*role*/) const { return call_.inputs[i]; }

const TensorArg &Args::in(size_t i, const char *role, DType dtype) const {
  expectDtype(call_.inputs[i], role, dtype);
  return call_.inputs[i];
}

const TensorArg &Args::out(size_t i, const char * /*role*/) const { return call_.outputs[i]; }

const TensorArg &Args::out(size_t i, const char *role, DType dtype) const {
  expectDtype(call_.outputs[i], role, dtype);
  return call_.outputs[i];
}

const TensorArg &Args::indexIn(size_t i, const char *role) const {
  const TensorArg &t = call_.inputs[i];
  if (t.dtype != DType::I32 && t.dtype != DType::I64)
    fail(std::string(role) + " must be i32 or i64, got " + t.describe());
  return t;
}

void Args::expectDtype(const TensorArg &t, const char *role, DType dtype) const {
  if (t.dtype != dtype)
    fail(std::string(role) + " must be " + dtypeName(dtype) + " on the CPU backend, got " +
         t.describe());
}

void Args::expectShape(const TensorArg &t, const char *role,
                       std::span<const int64_t> shape) const {
  if (!std::equal(t.shape.begin(), t.shape.end(), shape.begin(), shape.end()))
    fail(std::string(role) + " must have shape " + shapeText(shape) + ", got " + t.describe());
}

void Args::expectRank(const TensorArg &t, const char *role, int64_t rank) const {
  if (t.rank() != rank)
    fail(std::string(role) + " must have rank " + std::to_string(rank) + ", got " +
         t.describe());
}

void Args::expectSameDtype(const TensorArg &a, const char *roleA, const TensorArg &b,
                           const char *roleB) const {
  if (a.dtype != b.dtype)
    fail(std::string(roleA) + " (" + a.describe() + ") and " + roleB + " (" + b.describe() +
         ") must have the same dtype");
}

int64_t Args::axis(const char *name, int64_t rank) const {
  int64_t value = call_.attrs.getInt(name);
  if (value < 0 || value >= rank)
    fail(std::string(name) + " = " + std::to_string(value) + " is out of range for rank " +
         std::to_string(rank));
  return value;
}

} // namespace off::cpu::detail
