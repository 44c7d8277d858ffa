// What the CUDA table validates on top of the CPU table's checks: the dtypes
// its kernels take. The CPU table accepts bf16 operands for (almost) every
// op; a CUDA kernel that was written for f32 would read those bytes as
// floats and compute garbage, so a call with a bf16 operand is refused here,
// at bind time (BoundKernel, the plan loader), unless the op's CUDA kernel
// reads and writes bf16 itself.
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaOpsCommon.h"

#include <set>

namespace off::cuda::detail {
namespace {

/// Ops whose CUDA kernels take bf16 operands wherever the CPU table does.
/// Data movement copies elements of any size; cast converts.
bool takesBf16(std::string_view op) {
  static const std::set<std::string, std::less<>> ops = {
      "broadcast_to", "cast", "concat", "gather", "reshape", "slice", "slice_grad", "transpose"};
  return ops.count(op) != 0;
}

const TensorArg *firstBf16(const KernelCall &c, const char **where, size_t *index) {
  for (auto [list, name] : {std::pair{&c.inputs, "input"}, std::pair{&c.outputs, "output"}})
    for (size_t i = 0; i < list->size(); ++i)
      if ((*list)[i].dtype == DType::BF16) {
        *where = name;
        *index = i;
        return &(*list)[i];
      }
  return nullptr;
}

} // namespace

void validateOnCuda(const KernelCall &c) {
  cpu::cpuKernels().get(c.op).validate(c);
  const char *where = nullptr;
  size_t index = 0;
  if (!takesBf16(c.op))
    if (const TensorArg *t = firstBf16(c, &where, &index))
      throw std::invalid_argument(std::string(c.op) + ": the CUDA backend has no bf16 kernel for '" +
                                  std::string(c.op) + "' yet (" + where + " " +
                                  std::to_string(index) + " is " + t->describe() +
                                  "); compile with --precision fp32 or run on the CPU backend");
  // The CUDA adam_step does not write the compute copy yet.
  if (c.op == "adam_step" && c.outputs.size() == 4)
    throw std::invalid_argument("adam_step: the CUDA backend does not write the compute copy "
                                "(a 4th output) yet; compile with --precision fp32 or keep the "
                                "optimizer on the host");
}

} // namespace off::cuda::detail
