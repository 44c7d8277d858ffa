// Which bf16 calls the CUDA kernel table accepts (needs no GPU: validation
// is host code). Each call below is one the CPU table accepts (checked
// first, so a case cannot pass by being malformed); the CUDA table must
// accept it exactly when its op is in the list of ops stated here to have a
// bf16 CUDA kernel, and otherwise refuse it at bind time with an error
// naming the op and the bf16 operand, never run an f32 kernel on bf16 bytes.
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaBackend.h"

#include <gtest/gtest.h>

#include <set>

namespace off::test {
namespace {

using backend::KernelAttrs;
using backend::TensorArg;

TensorArg t(std::vector<int64_t> shape, DType dtype = DType::BF16) {
  return TensorArg{nullptr, std::move(shape), dtype};
}

struct Bf16Call {
  std::string name, op;
  std::vector<TensorArg> inputs, outputs;
  KernelAttrs attrs;
};

std::vector<Bf16Call> bf16Calls() {
  const DType F = DType::F32, B = DType::BF16;
  KernelAttrs adam{{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8},
                   {"weight_decay", 0.01}};
  return {
      {"matmul", "matmul", {t({4, 8}), t({8, 3})}, {t({4, 3})}, {}},
      {"add", "add", {t({3, 5}), t({3, 5})}, {t({3, 5})}, {}},
      {"add_mixed", "add", {t({3, 5}, F), t({5})}, {t({3, 5}, F)}, {}},
      {"mul", "mul", {t({3, 5}), t({3, 5})}, {t({3, 5})}, {}},
      {"silu", "silu", {t({3, 5})}, {t({3, 5})}, {}},
      {"swiglu", "swiglu", {t({3, 5}), t({3, 5})}, {t({3, 5})}, {}},
      {"swiglu_grad", "swiglu_grad", {t({3, 5}), t({3, 5}), t({3, 5})}, {t({3, 5}), t({3, 5})}, {}},
      {"attention", "attention", {t({1, 2, 4, 8}), t({1, 1, 4, 8}), t({1, 1, 4, 8})},
       {t({1, 2, 4, 8})}, {{"causal", true}}},
      {"attention_grad", "attention_grad",
       {t({1, 2, 4, 8}), t({1, 1, 4, 8}), t({1, 1, 4, 8}), t({1, 2, 4, 8})},
       {t({1, 2, 4, 8}), t({1, 1, 4, 8}), t({1, 1, 4, 8})}, {{"causal", true}}},
      {"rope", "rope", {t({1, 2, 4, 8}), t({4, 8}), t({4, 8})}, {t({1, 2, 4, 8})}, {}},
      {"rope_grad", "rope_grad", {t({1, 2, 4, 8}), t({4, 8}, F), t({4, 8}, F)},
       {t({1, 2, 4, 8})}, {}},
      {"rms_norm", "rms_norm", {t({3, 8}), t({8})}, {t({3, 8})}, {{"eps", 1e-5}}},
      {"rms_norm_grad", "rms_norm_grad", {t({3, 8}), t({8}), t({3, 8})}, {t({3, 8}), t({8}, F)},
       {{"eps", 1e-5}}},
      {"softmax", "softmax", {t({3, 8})}, {t({3, 8})}, {{"axis", int64_t(1)}}},
      {"reduce_sum", "reduce_sum", {t({3, 8})}, {t({3})},
       {{"axes", std::vector<int64_t>{1}}}},
      {"embedding", "embedding", {t({11, 4}), t({3}, DType::I32)}, {t({3, 4})}, {}},
      {"cross_entropy", "cross_entropy", {t({3, 11}), t({3}, DType::I32)}, {t({}, F)}, {}},
      {"global_norm", "global_norm", {t({10}, F), t({7})}, {t({}, F)}, {}},
      {"norm_partial", "norm_partial", {t({100})}, {t({1}, DType::F64)}, {}},
      {"adam_step_bf16_grad", "adam_step", {t({6}, F), t({6}), t({6}, F), t({6}, F)},
       {t({6}, F), t({6}, F), t({6}, F)}, adam},
      {"adam_step_bf16_copy", "adam_step", {t({6}, F), t({6}, F), t({6}, F), t({6}, F)},
       {t({6}, F), t({6}, F), t({6}, F), t({6}, B)}, adam},
      {"cast", "cast", {t({3, 5})}, {t({3, 5}, F)}, {}},
      {"transpose", "transpose", {t({3, 5})}, {t({5, 3})}, {{"perm", std::vector<int64_t>{1, 0}}}},
      {"gather", "gather", {t({6, 4}), t({3}, DType::I64)}, {t({3, 4})}, {{"axis", int64_t(0)}}},
  };
}

/// The ops whose CUDA kernels read and write bf16 (runtime/cuda/README.md):
/// since bf16 came to the CUDA backend, all that appear above.
const std::set<std::string> kCudaBf16Ops = {
    "matmul",  "add",       "mul",           "silu",          "swiglu",     "swiglu_grad",
    "attention", "attention_grad", "rope",   "rope_grad",     "rms_norm",   "rms_norm_grad",
    "softmax", "reduce_sum", "embedding",    "cross_entropy", "global_norm", "norm_partial",
    "adam_step", "cast",    "transpose",     "gather"};

TEST(CudaKernelTable, TakesBf16ExactlyWhereItsKernelsDo) {
  for (const Bf16Call &c : bf16Calls()) {
    ASSERT_NO_THROW(cpu::cpuKernels().validate(c.op, c.inputs, c.outputs, c.attrs))
        << c.name << ": the case must be a call the CPU table accepts";
    if (kCudaBf16Ops.count(c.op)) {
      EXPECT_NO_THROW(cuda::cudaKernels().validate(c.op, c.inputs, c.outputs, c.attrs)) << c.name;
      continue;
    }
    try {
      backend::BoundKernel(cuda::cudaKernels(), c.op, c.inputs, c.outputs, c.attrs);
      ADD_FAILURE() << c.name << ": the CUDA table accepted a bf16 call it has no kernel for";
    } catch (const std::invalid_argument &e) {
      std::string message = e.what();
      EXPECT_NE(message.find(c.op), std::string::npos) << c.name << ": " << message;
      EXPECT_NE(message.find("bf16"), std::string::npos) << c.name << ": " << message;
    }
  }
}

TEST(CudaKernelTable, F32CallsAreAcceptedAsOnTheCpu) {
  // The same calls in f32 (the CUDA kernels' own dtype) pass both tables.
  for (Bf16Call c : bf16Calls()) {
    for (auto *list : {&c.inputs, &c.outputs})
      for (TensorArg &a : *list)
        if (a.dtype == DType::BF16)
          a.dtype = DType::F32;
    if (c.op == "cast")
      continue; // f32 -> f32 is a copy on both
    ASSERT_NO_THROW(cpu::cpuKernels().validate(c.op, c.inputs, c.outputs, c.attrs)) << c.name;
    EXPECT_NO_THROW(cuda::cudaKernels().validate(c.op, c.inputs, c.outputs, c.attrs)) << c.name;
  }
}

} // namespace
} // namespace off::test
