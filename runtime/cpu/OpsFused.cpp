// Kernel-table adapters for the fused LLM ops and their gradients:
// rms_norm, rope, attention, swiglu, embedding, cross_entropy (+ *_grad).
#include "runtime/cpu/Attention.h"
#include "runtime/cpu/CrossEntropy.h"
#include "runtime/cpu/Embedding.h"
#include "runtime/cpu/OpsCommon.h"
#include "runtime/cpu/CpuWorkspace.h"
#include "runtime/cpu/RmsNorm.h"
#include "runtime/cpu/Rope.h"
#include "runtime/cpu/Shape.h"
#include "runtime/cpu/Swiglu.h"

#include <cmath>

namespace off::cpu::detail {

namespace {

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

double checkedEps(const Args &a) {
  double eps = a.attrs().getFloat("eps");
  if (!(eps > 0.0))
    a.fail("eps must be positive, got " + std::to_string(eps));
  return eps;
}

void validateRmsNorm(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &x = a.in(0, "input", DType::F32);
  if (x.rank() < 1)
    a.fail("input must have rank >= 1");
  a.expectShape(a.in(1, "weight", DType::F32), "weight", {x.dim(-1)});
  a.expectShape(a.out(0, "result", DType::F32), "result", x.shape);
  checkedEps(a);
}

void runRmsNorm(const KernelCall &c) {
  const TensorArg &x = c.inputs[0];
  int64_t C = x.dim(-1);
  rmsNormForward(x.as<float>(), c.inputs[1].as<float>(), c.outputs[0].as<float>(),
                 C ? x.numel() / C : 0, C, c.attrs.getFloat("eps"));
}

void validateRmsNormGrad(const KernelCall &c) {
  Args a(c, 3, 2);
  const TensorArg &x = a.in(0, "input", DType::F32);
  if (x.rank() < 1)
    a.fail("input must have rank >= 1");
  a.expectShape(a.in(1, "weight", DType::F32), "weight", {x.dim(-1)});
  a.expectShape(a.in(2, "grad_output", DType::F32), "grad_output", x.shape);
  a.expectShape(a.out(0, "grad_input", DType::F32), "grad_input", x.shape);
  a.expectShape(a.out(1, "grad_weight", DType::F32), "grad_weight", {x.dim(-1)});
  checkedEps(a);
}

void runRmsNormGrad(const KernelCall &c) {
  const TensorArg &x = c.inputs[0];
  int64_t C = x.dim(-1);
  rmsNormBackward(x.as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
                  c.outputs[0].as<float>(), c.outputs[1].as<float>(), C ? x.numel() / C : 0, C,
                  c.attrs.getFloat("eps"), reinterpret_cast<float *>(c.workspace.data()));
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

void validateRopeLike(const KernelCall &c, const char *inRole, const char *outRole) {
  Args a(c, 3, 1);
  const TensorArg &x = a.in(0, inRole, DType::F32);
  a.expectRank(x, inRole, 4);
  if (x.dim(3) % 2 != 0)
    a.fail(std::string(inRole) + " " + x.describe() + ": head dimension must be even");
  a.expectShape(a.in(1, "cos", DType::F32), "cos", {x.dim(2), x.dim(3)});
  a.expectShape(a.in(2, "sin", DType::F32), "sin", {x.dim(2), x.dim(3)});
  a.expectShape(a.out(0, outRole, DType::F32), outRole, x.shape);
}

void validateRope(const KernelCall &c) { validateRopeLike(c, "input", "result"); }
void validateRopeGrad(const KernelCall &c) { validateRopeLike(c, "grad_output", "grad_input"); }

void runRope(const KernelCall &c) {
  const TensorArg &x = c.inputs[0];
  ropeForward(x.as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
              c.outputs[0].as<float>(), x.dim(0), x.dim(1), x.dim(2), x.dim(3));
}

void runRopeGrad(const KernelCall &c) {
  const TensorArg &dy = c.inputs[0];
  ropeBackward(dy.as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
               c.outputs[0].as<float>(), dy.dim(0), dy.dim(1), dy.dim(2), dy.dim(3));
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

AttentionDims attentionDims(const Args &a) {
  const TensorArg &q = a.in(0, "query", DType::F32), &k = a.in(1, "key", DType::F32);
  const TensorArg &v = a.in(2, "value", DType::F32);
  a.expectRank(q, "query", 4);
  a.expectRank(k, "key", 4);
  a.expectRank(v, "value", 4);
  AttentionDims d;
  d.B = q.dim(0), d.Hq = q.dim(1), d.T = q.dim(2), d.D = q.dim(3);
  d.Hkv = k.dim(1), d.S = k.dim(2), d.Dv = v.dim(3);
  a.expectShape(k, "key", {d.B, d.Hkv, d.S, d.D});
  a.expectShape(v, "value", {d.B, d.Hkv, d.S, d.Dv});
  if (d.Hkv == 0 || d.Hq % d.Hkv != 0)
    a.fail("query heads (" + std::to_string(d.Hq) + ") must be a multiple of key/value heads (" +
           std::to_string(d.Hkv) + ")");
  d.causal = a.attrs().getBool("causal");
  if (d.causal && d.T > d.S)
    a.fail("causal attention needs query length <= key length, got " + q.describe() + " and " +
           k.describe());
  if (d.S == 0 && d.T > 0)
    a.fail("attention over zero keys");
  d.scale = float(a.attrs().getFloat("scale", 1.0 / std::sqrt(double(d.D))));
  return d;
}

void validateAttention(const KernelCall &c) {
  Args a(c, 3, 1);
  AttentionDims d = attentionDims(a);
  a.expectShape(a.out(0, "result", DType::F32), "result", {d.B, d.Hq, d.T, d.Dv});
}

void runAttention(const KernelCall &c) {
  AttentionDims d = attentionDims(Args(c, 3, 1));
  attentionForward(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
                   c.outputs[0].as<float>(), d, reinterpret_cast<float *>(c.workspace.data()));
}

void validateAttentionGrad(const KernelCall &c) {
  Args a(c, 4, 3);
  AttentionDims d = attentionDims(a);
  a.expectShape(a.in(3, "grad_output", DType::F32), "grad_output", {d.B, d.Hq, d.T, d.Dv});
  a.expectShape(a.out(0, "grad_query", DType::F32), "grad_query", c.inputs[0].shape);
  a.expectShape(a.out(1, "grad_key", DType::F32), "grad_key", c.inputs[1].shape);
  a.expectShape(a.out(2, "grad_value", DType::F32), "grad_value", c.inputs[2].shape);
}

void runAttentionGrad(const KernelCall &c) {
  AttentionDims d = attentionDims(Args(c, 4, 3));
  attentionBackward(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
                    c.inputs[3].as<float>(), c.outputs[0].as<float>(), c.outputs[1].as<float>(),
                    c.outputs[2].as<float>(), d, reinterpret_cast<float *>(c.workspace.data()));
}

//===----------------------------------------------------------------------===//
// swiglu
//===----------------------------------------------------------------------===//

void validateSwiglu(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &gate = a.in(0, "gate", DType::F32);
  a.expectShape(a.in(1, "up", DType::F32), "up", gate.shape);
  a.expectShape(a.out(0, "result", DType::F32), "result", gate.shape);
}

void runSwiglu(const KernelCall &c) {
  swigluForward(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.outputs[0].as<float>(),
                c.inputs[0].numel());
}

void validateSwigluGrad(const KernelCall &c) {
  Args a(c, 3, 2);
  const TensorArg &gate = a.in(0, "gate", DType::F32);
  a.expectShape(a.in(1, "up", DType::F32), "up", gate.shape);
  a.expectShape(a.in(2, "grad_output", DType::F32), "grad_output", gate.shape);
  a.expectShape(a.out(0, "grad_gate", DType::F32), "grad_gate", gate.shape);
  a.expectShape(a.out(1, "grad_up", DType::F32), "grad_up", gate.shape);
}

void runSwigluGrad(const KernelCall &c) {
  swigluBackward(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
                 c.outputs[0].as<float>(), c.outputs[1].as<float>(), c.inputs[0].numel());
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

void validateEmbedding(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &table = a.in(0, "table", DType::F32), &ids = a.indexIn(1, "ids");
  a.expectRank(table, "table", 2);
  Shape shape = ids.shape;
  shape.push_back(table.dim(1));
  a.expectShape(a.out(0, "result", DType::F32), "result", shape);
}

template <typename Index> void embeddingTyped(const KernelCall &c) {
  const TensorArg &table = c.inputs[0], &ids = c.inputs[1];
  embeddingForward(table.as<float>(), ids.as<Index>(), c.outputs[0].as<float>(), ids.numel(),
                   table.dim(0), table.dim(1));
}

void runEmbedding(const KernelCall &c) {
  c.inputs[1].dtype == DType::I32 ? embeddingTyped<int32_t>(c) : embeddingTyped<int64_t>(c);
}

void validateEmbeddingGrad(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &ids = a.indexIn(0, "ids"), &dy = a.in(1, "grad_output", DType::F32);
  const TensorArg &dt = a.out(0, "grad_table", DType::F32);
  a.expectRank(dt, "grad_table", 2);
  int64_t vocab = c.attrs.getInt("vocab_size");
  if (vocab != dt.dim(0))
    a.fail("vocab_size " + std::to_string(vocab) + " differs from grad_table " + dt.describe());
  Shape shape = ids.shape;
  shape.push_back(dt.dim(1));
  a.expectShape(dy, "grad_output", shape);
}

template <typename Index> void embeddingGradTyped(const KernelCall &c) {
  const TensorArg &ids = c.inputs[0], &dt = c.outputs[0];
  embeddingBackward(ids.as<Index>(), c.inputs[1].as<float>(), dt.as<float>(), ids.numel(),
                    dt.dim(0), dt.dim(1));
}

void runEmbeddingGrad(const KernelCall &c) {
  c.inputs[0].dtype == DType::I32 ? embeddingGradTyped<int32_t>(c)
                                  : embeddingGradTyped<int64_t>(c);
}

//===----------------------------------------------------------------------===//
// cross_entropy
//===----------------------------------------------------------------------===//

void validateCrossEntropyInputs(const Args &a) {
  const TensorArg &logits = a.in(0, "logits", DType::F32), &targets = a.indexIn(1, "targets");
  if (logits.rank() < 1)
    a.fail("logits must have rank >= 1");
  a.expectShape(targets, "targets",
                std::span<const int64_t>(logits.shape).first(size_t(logits.rank() - 1)));
  if (logits.numel() == 0)
    a.fail("logits " + logits.describe() + " is empty");
}

void validateCrossEntropy(const KernelCall &c) {
  Args a(c, 2, 1);
  validateCrossEntropyInputs(a);
  a.expectShape(a.out(0, "result", DType::F32), "result", std::span<const int64_t>());
}

template <typename Index> void crossEntropyTyped(const KernelCall &c) {
  const TensorArg &logits = c.inputs[0];
  int64_t V = logits.dim(-1);
  *c.outputs[0].as<float>() =
      crossEntropyForward(logits.as<float>(), c.inputs[1].as<Index>(), logits.numel() / V, V,
                          c.workspace.data());
}

void runCrossEntropy(const KernelCall &c) {
  c.inputs[1].dtype == DType::I32 ? crossEntropyTyped<int32_t>(c)
                                  : crossEntropyTyped<int64_t>(c);
}

void validateCrossEntropyGrad(const KernelCall &c) {
  Args a(c, 3, 1);
  validateCrossEntropyInputs(a);
  a.expectShape(a.in(2, "grad_loss", DType::F32), "grad_loss", std::span<const int64_t>());
  a.expectShape(a.out(0, "grad_logits", DType::F32), "grad_logits", c.inputs[0].shape);
}

template <typename Index> void crossEntropyGradTyped(const KernelCall &c) {
  const TensorArg &logits = c.inputs[0];
  int64_t V = logits.dim(-1);
  crossEntropyBackward(logits.as<float>(), c.inputs[1].as<Index>(), *c.inputs[2].as<float>(),
                       c.outputs[0].as<float>(), logits.numel() / V, V);
}

void runCrossEntropyGrad(const KernelCall &c) {
  c.inputs[1].dtype == DType::I32 ? crossEntropyGradTyped<int32_t>(c)
                                  : crossEntropyGradTyped<int64_t>(c);
}

} // namespace

void registerFusedOps(KernelTable &table) {
  table.add("rms_norm", {validateRmsNorm, runRmsNorm, cpuWorkspaceBytes});
  table.add("rms_norm_grad", {validateRmsNormGrad, runRmsNormGrad, cpuWorkspaceBytes});
  table.add("rope", {validateRope, runRope, cpuWorkspaceBytes});
  table.add("rope_grad", {validateRopeGrad, runRopeGrad, cpuWorkspaceBytes});
  table.add("attention", {validateAttention, runAttention, cpuWorkspaceBytes});
  table.add("attention_grad", {validateAttentionGrad, runAttentionGrad, cpuWorkspaceBytes});
  table.add("swiglu", {validateSwiglu, runSwiglu, cpuWorkspaceBytes});
  table.add("swiglu_grad", {validateSwigluGrad, runSwigluGrad, cpuWorkspaceBytes});
  table.add("embedding", {validateEmbedding, runEmbedding, cpuWorkspaceBytes});
  table.add("embedding_grad", {validateEmbeddingGrad, runEmbeddingGrad, cpuWorkspaceBytes});
  table.add("cross_entropy", {validateCrossEntropy, runCrossEntropy, cpuWorkspaceBytes});
  table.add("cross_entropy_grad", {validateCrossEntropyGrad, runCrossEntropyGrad, cpuWorkspaceBytes});
}

} // namespace off::cpu::detail
