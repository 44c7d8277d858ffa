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

/// Ops whose CUDA kernels take bf16 operands wherever the CPU table does:
/// data movement copies elements of any size; cast converts; matmul
/// (cuBLASLt bf16), global_norm, norm_partial and adam_step read (and
/// adam_step writes) bf16 themselves; the others run their f32 kernel on
/// widened copies (CudaWiden.cpp). An op added to the table later is
/// refused bf16 until it is listed here.
bool takesBf16(std::string_view op) {
  static const std::set<std::string, std::less<>> ops = {
      // data movement and cast
      "broadcast_to", "cast", "concat", "gather", "reshape", "slice", "slice_grad", "transpose",
      // their own bf16 paths
      "matmul", "global_norm", "norm_partial", "norm_combine", "adam_step",
      // f32 kernels on widened copies
      "add", "sub", "mul", "div", "neg", "exp", "sqrt", "rsqrt", "silu", "sigmoid",
      "reduce_sum", "reduce_mean", "reduce_max", "softmax", "softmax_grad", "gather_grad",
      "rms_norm", "rms_norm_grad", "rope", "rope_grad", "attention", "attention_grad", "swiglu",
      "swiglu_grad", "embedding", "embedding_grad", "cross_entropy", "cross_entropy_grad"};
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
}

} // namespace off::cuda::detail
