//===- Passes.td - graph-level passes of the off dialect ------*- tablegen -*-===//
//
// In pipeline order: an imported graph runs off-fold-shapes, then
// off-fuse-llm, then off-autodiff. Each pass states what it expects and what
// it guarantees.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_PASSES
#define OFF_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

// off-fold-shapes and off-fuse-llm ([B], ONNX path) are added here with their sources.

def AutodiffPass : Pass<"off-autodiff", "ModuleOp"> {
  let summary = "turns @forward into one training step: loss, backward, AdamW";
  let description = [{
    Pre: the module has `func.func @forward(%input_ids: tensor<BxTxi32>) ->
    tensor<BxTxVxf32>` (one block; weights are `off.param` ops inside it, those
    marked `trainable` get gradients) and no `@train_step`.

    Post: `@forward` is replaced by
    `func.func @train_step(%input_ids: tensor<KxBxTxi32>, %targets:
    tensor<KxBxTxi32>) -> (tensor<f32>, tensor<f32>)` returning the mean loss
    over the K = `grad-accum` micro-batches and the global gradient norm before
    clipping (with K = 1 the inputs are still `[1, B, T]`). It does, as a
    PyTorch loop doing `(loss / K).backward()` per micro-batch, then
    `clip_grad_norm_` and `torch.optim.AdamW.step()`:

    1. the params and constants of `@forward`, once, in declaration order;
    2. per micro-batch k = 0..K-1: slice k of both inputs (`off.slice` on axis
       0, left out when K = 1, then `off.reshape` to `[B, T]`), the forward
       ops, `loss_k = off.cross_entropy(logits, targets_k)` (mean next-token
       cross-entropy; the targets are already shifted), and the backward
       seeded with `dloss = 1/K` (an `off.constant`): `cross_entropy_grad`,
       then the reverse of every op on a path from a trainable param to the
       logits. A value used several times gets the sum (`off.add`, in the
       order the uses are met walking backwards) of its gradients. Each
       trainable param's gradient is accumulated over micro-batches in order,
       `g = g0 + g1 + ...`, right after micro-batch k;
    3. the loss `(loss_0 + loss_1 + ...) / K` (no division when K = 1);
    4. `%norm = off.global_norm` of all trainable gradients in param
       declaration order;
    5. per trainable param, in declaration order, two `off.state` tensors
       (`<param name>.exp_avg`, `<param name>.exp_avg_sq`) and
       `off.adam_step %param, %grad, %exp_avg, %exp_avg_sq, %norm` with `lr`,
       `beta1`, `beta2`, `eps`, `weight_decay` and, when `clip` > 0,
       `max_grad_norm = clip`. The step updates param and states in place.

    Gradients: matmul (any transpose flags; batch dimensions that were
    broadcast are summed with `reduce_sum`; a weight `[N, C]` applied to
    `[B, T, C]` rows gets its gradient from one matmul over the flattened
    B*T rows, as torch's Linear), add/sub/mul/div with broadcasting (summed
    back with `reduce_sum` + `reshape`), neg, exp, sqrt, rsqrt, sigmoid, silu,
    cast, reshape, transpose, slice (`slice_grad`), concat (`slice` per
    input), gather (`gather_grad`), broadcast_to, reduce_sum/reduce_mean
    (`broadcast_to`), softmax (`softmax_grad`) and the fused ops rms_norm,
    rope, attention, swiglu, embedding, cross_entropy (their `*_grad` ops).
    Integer values and values that no trainable param reaches get no
    gradient. `reduce_max` has no gradient rule (it is an error only where a
    gradient must flow through it), nor have rope's cos/sin tables, nor has
    any non-off op. A trainable param that does not reach the logits gets no
    gradient and no optimizer step (PyTorch skips params whose grad is None);
    the pass warns about it.

    Fails, naming the problem, when `@forward` is missing or has another
    signature, when an op that needs a gradient has no rule, when there is no
    trainable param, or when an option is out of range.

    Before:
    ```mlir
    func.func @forward(%ids: tensor<2x8xi32>) -> tensor<2x8x256xf32> {
      %w = off.param "lm_head.weight" {trainable} : tensor<256x64xf32>
      %t = off.param "embed" : tensor<256x64xf32>
      %x = off.embedding %t, %ids : (tensor<256x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
      %y = off.matmul %x, %w {transpose_rhs = true}
          : (tensor<2x8x64xf32>, tensor<256x64xf32>) -> tensor<2x8x256xf32>
      return %y : tensor<2x8x256xf32>
    }
    ```
    After (`grad-accum=1`):
    ```mlir
    func.func @train_step(%ids: tensor<1x2x8xi32>, %targets: tensor<1x2x8xi32>)
        -> (tensor<f32>, tensor<f32>) {
      %w = off.param "lm_head.weight" {trainable} : tensor<256x64xf32>
      %t = off.param "embed" : tensor<256x64xf32>
      %dloss = off.constant dense<1.0> : tensor<f32>
      %ids0 = off.reshape %ids : tensor<1x2x8xi32> to tensor<2x8xi32>
      %tg0 = off.reshape %targets : tensor<1x2x8xi32> to tensor<2x8xi32>
      %x = off.embedding %t, %ids0 : ...
      %y = off.matmul %x, %w {transpose_rhs = true} : ...
      %loss = off.cross_entropy %y, %tg0 : ... -> tensor<f32>
      %dy = off.cross_entropy_grad %y, %tg0, %dloss : ...
      %dy2 = off.reshape %dy : tensor<2x8x256xf32> to tensor<16x256xf32>
      %x2 = off.reshape %x : tensor<2x8x64xf32> to tensor<16x64xf32>
      %dw = off.matmul %dy2, %x2 {transpose_lhs = true} : ... -> tensor<256x64xf32>
      %norm = off.global_norm %dw : tensor<256x64xf32> -> tensor<f32>
      %m = off.state "lm_head.weight.exp_avg" : tensor<256x64xf32>
      %v = off.state "lm_head.weight.exp_avg_sq" : tensor<256x64xf32>
      %p2, %m2, %v2 = off.adam_step %w, %dw, %m, %v, %norm {lr = 1.0e-03 : f64,
          beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
          weight_decay = 1.0e-02 : f64, max_grad_norm = 1.0 : f64}
          : tensor<256x64xf32>, tensor<f32>
      return %loss, %norm : tensor<f32>, tensor<f32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect",
                           "::mlir::func::FuncDialect"];
  let options = [
    Option<"gradAccum", "grad-accum", "int64_t", /*default=*/"1",
           "Micro-batches per step (K >= 1); gradients are summed over them">,
    Option<"lr", "lr", "double", /*default=*/"1e-3",
           "AdamW learning rate (> 0)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9",
           "AdamW beta1, in [0, 1)">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999",
           "AdamW beta2, in [0, 1)">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "AdamW eps (> 0)">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "AdamW decoupled weight decay (>= 0)">,
    Option<"clip", "clip", "double", /*default=*/"1.0",
           "Max global gradient norm, as clip_grad_norm_ (0 = no clipping)">,
  ];
  let statistics = [
    Statistic<"numGradientOps", "num-gradient-ops",
              "Ops emitted for the backward of one micro-batch">,
    Statistic<"numTrainedParams", "num-trained-params",
              "Params that get an adam_step">,
  ];
}

#endif // OFF_TRANSFORMS_PASSES
