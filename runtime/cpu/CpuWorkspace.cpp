#include "runtime/cpu/CpuWorkspace.h"

#include "runtime/cpu/Attention.h"
#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/CrossEntropy.h"
#include "runtime/cpu/Reduce.h"
#include "runtime/cpu/RmsNorm.h"

namespace off::cpu {

// The kernels' own sizes (declared beside each kernel).

int64_t rmsNormBackwardScratch(int64_t R, int64_t C) { return R + scratchSlots(R) * 2 * C; }

int64_t crossEntropyForwardScratch(int64_t N, int64_t V) {
  return N * int64_t(sizeof(double)) + scratchSlots(N) * V * int64_t(sizeof(float));
}

int64_t attentionForwardScratch(const AttentionDims &d) {
  return scratchSlots(attentionForwardTasks(d)) * kQueryBlock * d.S;
}

int64_t attentionBackwardScratch(const AttentionDims &d) {
  return scratchSlots(d.B * d.Hkv) * 2 * kQueryBlock * d.S;
}

int64_t softmaxScratch(int64_t O, int64_t A, int64_t I) {
  return I == 1 ? 0 : scratchSlots(O * I) * A;
}

int64_t globalNormBlocks(std::span<const backend::TensorArg> tensors) {
  int64_t blocks = 0;
  for (const backend::TensorArg &t : tensors)
    blocks += (t.numel() + kNormBlock - 1) / kNormBlock;
  return blocks;
}

namespace {

constexpr uint64_t kFloat = sizeof(float);

// The attention's dimensions from query [B, Hq, T, D] and key [B, Hkv, S, D].
AttentionDims attentionShape(const backend::KernelCall &call) {
  AttentionDims d;
  const backend::TensorArg &q = call.inputs[0], &k = call.inputs[1];
  d.B = q.dim(0), d.Hq = q.dim(1), d.T = q.dim(2), d.D = q.dim(3);
  d.Hkv = k.dim(1), d.S = k.dim(2);
  return d;
}

// Softmax's [O, A, I] view along attribute `axis`.
void softmaxView(const backend::KernelCall &call, int64_t &O, int64_t &A, int64_t &I) {
  const backend::TensorArg &x = call.inputs[0];
  int64_t axis = call.attrs.getInt("axis");
  if (axis < 0)
    axis += x.rank();
  O = A = I = 1;
  for (int64_t i = 0; i < x.rank(); ++i)
    (i < axis ? O : i == axis ? A : I) *= x.shape[size_t(i)];
}

} // namespace

uint64_t cpuWorkspaceBytes(const backend::KernelCall &call) {
  std::string_view op = call.op;
  if (op == "rms_norm_grad") {
    const backend::TensorArg &x = call.inputs[0];
    int64_t C = x.dim(-1);
    return kFloat * uint64_t(rmsNormBackwardScratch(C ? x.numel() / C : 0, C));
  }
  if (op == "cross_entropy") {
    const backend::TensorArg &logits = call.inputs[0];
    int64_t V = logits.dim(-1);
    return uint64_t(crossEntropyForwardScratch(V ? logits.numel() / V : 0, V));
  }
  if (op == "attention")
    return kFloat * uint64_t(attentionForwardScratch(attentionShape(call)));
  if (op == "attention_grad")
    return kFloat * uint64_t(attentionBackwardScratch(attentionShape(call)));
  if (op == "softmax" || op == "softmax_grad") {
    int64_t O, A, I;
    softmaxView(call, O, A, I);
    return kFloat * uint64_t(softmaxScratch(O, A, I)) * (op == "softmax" ? 1 : 2);
  }
  if (op == "global_norm")
    return sizeof(double) * uint64_t(globalNormBlocks(call.inputs));
  return 0;
}

} // namespace off::cpu
