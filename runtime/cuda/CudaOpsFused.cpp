// The CUDA kernel table's fused LLM ops and their gradients (rms_norm, rope,
// attention, swiglu, embedding, cross_entropy) and the device adam_step.
// Validation is the CPU table's (runtime/optim's for adam_step).
#include "runtime/cuda/CudaOpsCommon.h"
#include "runtime/optim/AdamW.h"
#include "runtime/optim/HostOptimizerKernels.h"

#include <cmath>

namespace off::cuda::detail {
namespace {

// Native when the result has the input's dtype (the usual mixes); else on
// widened copies.
void runRmsNorm(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &w = c.inputs[1], &y = c.outputs[0];
  if (y.dtype != x.dtype)
    return runWidened(c, runRmsNorm);
  int64_t C = x.dim(-1);
  launchRmsNorm(x.data, x.dtype == DType::BF16, w.data, w.dtype == DType::BF16, y.data,
                C ? x.numel() / C : 0, C, c.attrs.getFloat("eps"), streamOf(c));
}

void runRmsNormGrad(const KernelCall &c) {
  const TensorArg &x = c.inputs[0];
  int64_t C = x.dim(-1);
  launchRmsNormGrad(x.as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
                    c.outputs[0].as<float>(), c.outputs[1].as<float>(), C ? x.numel() / C : 0,
                    C, c.attrs.getFloat("eps"), streamOf(c));
}

// Native when the result has the input's dtype and cos, sin share one;
// else on widened copies.
template <bool Backward> void runRope(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &cos = c.inputs[1], &sin = c.inputs[2], &y = c.outputs[0];
  if (y.dtype != x.dtype || cos.dtype != sin.dtype)
    return runWidened(c, runRope<Backward>);
  launchRope(x.data, x.dtype == DType::BF16, cos.data, sin.data, cos.dtype == DType::BF16,
             y.data, x.dim(0) * x.dim(1) * x.dim(2), x.dim(2), x.dim(3), Backward, streamOf(c));
}

AttentionShape attentionShape(const KernelCall &c) {
  const TensorArg &q = c.inputs[0], &k = c.inputs[1], &v = c.inputs[2];
  AttentionShape a{};
  a.B = q.dim(0), a.Hq = q.dim(1), a.T = q.dim(2), a.D = q.dim(3);
  a.Hkv = k.dim(1), a.S = k.dim(2), a.Dv = v.dim(3);
  a.causal = c.attrs.getBool("causal");
  a.scale = float(c.attrs.getFloat("scale", 1.0 / std::sqrt(double(a.D))));
  return a;
}

// All operands f32 or all bf16: one kernel; mixed: on widened copies.
void runAttention(const KernelCall &c) {
  bool bf16 = false;
  if (!oneFloatDtype(c, &bf16))
    return runWidened(c, runAttention);
  launchAttention(bf16, c.inputs[0].data, c.inputs[1].data, c.inputs[2].data, c.outputs[0].data,
                  attentionShape(c), streamOf(c));
}

void runAttentionGrad(const KernelCall &c) {
  launchAttentionGrad(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.inputs[2].as<float>(),
                      c.inputs[3].as<float>(), c.outputs[0].as<float>(),
                      c.outputs[1].as<float>(), c.outputs[2].as<float>(), attentionShape(c),
                      streamOf(c));
}

// All operands f32 or all bf16: one kernel; mixed: on widened copies.
void runSwiglu(const KernelCall &c) {
  bool bf16 = false;
  if (!oneFloatDtype(c, &bf16))
    return runWidened(c, runSwiglu);
  launchSwiglu(bf16, c.inputs[0].data, c.inputs[1].data, c.outputs[0].data, c.inputs[0].numel(),
               streamOf(c));
}

void runSwigluGrad(const KernelCall &c) {
  bool bf16 = false;
  if (!oneFloatDtype(c, &bf16))
    return runWidened(c, runSwigluGrad);
  launchSwigluGrad(bf16, c.inputs[0].data, c.inputs[1].data, c.inputs[2].data,
                   c.outputs[0].data, c.outputs[1].data, c.inputs[0].numel(), streamOf(c));
}

// A row copy when the table and the result share a dtype (no f32 copy of
// a bf16 table; the one difference from widening: a NaN keeps its payload
// instead of becoming 0x7FC0); else on widened copies.
void runEmbedding(const KernelCall &c) {
  const TensorArg &table = c.inputs[0], &ids = c.inputs[1];
  if (table.dtype != c.outputs[0].dtype)
    return runWidened(c, runEmbedding);
  launchGather(table.data, 1, table.dim(0), table.dim(1), ids.data, ids.dtype == DType::I64,
               ids.numel(), c.outputs[0].data, int(dtypeSize(table.dtype)), deviceErrors(),
               DeviceError::EmbeddingId, streamOf(c));
}

void runEmbeddingGrad(const KernelCall &c) {
  const TensorArg &ids = c.inputs[0], &dt = c.outputs[0];
  launchGatherGrad(ids.data, ids.dtype == DType::I64, ids.numel(), c.inputs[1].as<float>(), 1,
                   dt.dim(0), dt.dim(1), dt.as<float>(), deviceErrors(),
                   DeviceError::EmbeddingGradId, streamOf(c));
}

void runCrossEntropy(const KernelCall &c) {
  const TensorArg &logits = c.inputs[0], &t = c.inputs[1];
  if (c.outputs[0].dtype != DType::F32)
    return runWidened(c, runCrossEntropy); // a bf16 loss
  int64_t V = logits.dim(-1);
  launchCrossEntropy(logits.data, logits.dtype == DType::BF16, t.data, t.dtype == DType::I64,
                     logits.numel() / V, V, c.outputs[0].as<float>(), deviceErrors(),
                     streamOf(c));
}

void runCrossEntropyGrad(const KernelCall &c) {
  const TensorArg &logits = c.inputs[0], &t = c.inputs[1];
  int64_t V = logits.dim(-1);
  if (c.inputs[2].dtype != DType::F32)
    return runWidened(c, runCrossEntropyGrad); // a bf16 grad_loss
  launchCrossEntropyGrad(logits.data, logits.dtype == DType::BF16, t.data, t.dtype == DType::I64,
                         c.inputs[2].as<float>(), c.outputs[0].data,
                         c.outputs[0].dtype == DType::BF16, logits.numel() / V, V,
                         deviceErrors(), streamOf(c));
}

// adam_step on device memory: outputs updated in place (copied from their
// inputs first when the plan gives them other buffers).
void runAdamStep(const KernelCall &c) {
  optim::AdamWHyper hyper;
  hyper.lr = c.attrs.getFloat("lr");
  hyper.beta1 = c.attrs.getFloat("beta1");
  hyper.beta2 = c.attrs.getFloat("beta2");
  hyper.eps = c.attrs.getFloat("eps");
  hyper.weightDecay = c.attrs.getFloat("weight_decay");
  int64_t step = 1;
  if (c.step) {
    step = c.step->optimizerStep;
    if (c.step->lr)
      hyper.lr = *c.step->lr;
  }
  optim::AdamWStepScalars s = optim::adamwStepScalars(hyper, step);
  AdamWScalars k{s.decay, s.lerpWeight, s.lerpWeightM1, s.lerpWeightSmall, s.beta2,
                 s.oneMinusBeta2, s.bias2Sqrt, s.eps, s.negStepSize, 0.0f};
  cudaStream_t stream = streamOf(c);
  auto updated = [&](size_t out, size_t in) {
    const TensorArg &src = c.inputs[in], &dst = c.outputs[out];
    if (dst.data != src.data && src.bytes())
      check(cudaMemcpyAsync(dst.data, src.data, src.bytes(), cudaMemcpyDeviceToDevice, stream),
            "adam_step (cudaMemcpyAsync)");
    return dst.as<float>();
  };
  float *param = updated(0, 0), *m = updated(1, 2), *v = updated(2, 3);
  if (c.step && c.step->skipUpdates)
    return; // a skipped step or an evaluation: the outputs hold the inputs
  const float *norm = nullptr;
  if (c.attrs.has("max_grad_norm")) {
    norm = c.inputs[4].as<float>();
    k.maxNorm = float(c.attrs.getFloat("max_grad_norm"));
  }
  void *copy = c.outputs.size() == 4 ? c.outputs[3].data : nullptr;
  bool copyBf16 = copy && c.outputs[3].dtype == DType::BF16;
  launchAdamW(param, m, v, c.inputs[1].data, c.inputs[1].dtype == DType::BF16, norm, copy,
              copyBf16, k, c.inputs[0].numel(), stream);
}

} // namespace

void registerFusedOps(KernelTable &t, const KernelTable &cpu) {
  auto add = [&](const char *op, void (*run)(const KernelCall &)) {
    cpu.get(op);
    t.add(op, {validateOnCuda, run, nullptr});
  };
  add("rms_norm", runRmsNorm);
  add("rms_norm_grad", widened<runRmsNormGrad>);
  add("rope", runRope<false>);
  add("rope_grad", runRope<true>);
  add("attention", runAttention);
  add("attention_grad", widened<runAttentionGrad>);
  add("swiglu", runSwiglu);
  add("swiglu_grad", runSwigluGrad);
  add("embedding", runEmbedding);
  add("embedding_grad", widened<runEmbeddingGrad>);
  add("cross_entropy", runCrossEntropy);
  add("cross_entropy_grad", runCrossEntropyGrad);
  t.add("adam_step", {validateOnCuda, runAdamStep, nullptr});
}

} // namespace off::cuda::detail
