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

def FoldShapesPass : Pass<"off-fold-shapes", "ModuleOp"> {
  let summary = "constant-folds shape arithmetic, masks and tables for the static shapes";
  let description = [{
    Graph frontends (the ONNX importer above all) produce subgraphs that only
    compute shapes, position ids, attention masks and rotary tables. With
    static shapes all of them are constants. This pass

    1. evaluates every graph-level op whose operands are all `off.constant`
       (element-wise arithmetic, cast, reshape, broadcast_to, transpose,
       slice, concat, gather, reductions, softmax, small matmuls) and
       replaces it by an `off.constant`, in one walk in program order;
    2. removes layout ops that do nothing for these static shapes (a reshape
       or cast to the same type, an identity transpose, a full slice, a
       one-input concat) and merges chains: reshape of reshape, transpose of
       transpose, and reshape - transpose - reshape that only permutes whole
       dimensions becomes one transpose;
    3. erases the ops left without users.

    Pre: static shapes. Post: no op has only constant operands (except results
    larger than `max-elements`, left as they are).
    Fails when a constant evaluation proves the program wrong (integer
    division by zero, a gather index out of range), naming the op.

    Before:
    ```mlir
    %c = off.constant dense<[2, 8, 4, 16]> : tensor<4xi64>
    %i = off.constant dense<3> : tensor<1xi64>
    %d = off.gather %c, %i {axis = 0 : i64} : (tensor<4xi64>, tensor<1xi64>) -> tensor<1xi64>
    %k = off.reshape %x : tensor<2x4x8x16xf32> to tensor<8x8x16xf32>
    %t = off.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<8x8x16xf32>) -> tensor<8x16x8xf32>
    %r = off.reshape %t : tensor<8x16x8xf32> to tensor<2x4x16x8xf32>
    ```
    After:
    ```mlir
    %d = off.constant dense<16> : tensor<1xi64>
    %r = off.transpose %x {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let options = [
    Option<"maxElements", "max-elements", "int64_t", /*default=*/"1 << 24",
           "Largest result (in elements) that is folded into a constant">,
  ];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Ops replaced by constants">,
    Statistic<"numSimplified", "num-simplified",
              "Layout ops removed or merged">,
  ];
}

def FuseLlmPass : Pass<"off-fuse-llm", "ModuleOp"> {
  let summary = "raises generic op patterns to the fused LLM ops";
  let description = [{
    Recognises the generic forms that exporters write for the parts of a
    Llama block and replaces each by the fused op the runtime has a kernel for:

    * `embedding`: `gather(table [V, C], ids) {axis = 0}` with integer ids.
    * `rms_norm`: `w * (x * 1/sqrt(mean(x*x, last axis, keepdims) + eps))`,
      also with `rsqrt`, or `x / sqrt(...)`, either operand order; `w` is `[C]`,
      `eps` a positive scalar constant.
    * `silu`: `x * sigmoid(x)`; `swiglu`: `silu(g) * u` with equal types.
    * `rope`: `x * cos + rotate_half(x) * sin` where `x` is `[B, H, T, D]`,
      `rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2])` and `cos`, `sin`
      are constants that depend on (t, d) only, each frequency repeated in
      both halves; they become `[T, D]` tables.
    * `attention`: `softmax(scale * q k^T + mask) v` over the last axis, with
      the scale split anywhere over q, k^T and the scores, k^T written as a
      transpose (or `transpose_rhs`), grouped-query key/value heads repeated
      by `reshape(broadcast_to(reshape(k)))` (the repeat is dropped: the fused
      op reads `Hkv` heads), and `mask` a constant that is 0 where `s <= t +
      (S - T)` and <= -1e9 elsewhere (`causal`) or absent / all zero.
      A scale other than 1/sqrt(D) is kept as `scale`.
    * `matmul` absorbs a transpose of the last two dimensions of an operand
      into its `transpose_lhs` / `transpose_rhs` flag.

    Anything else is left alone: a pattern that almost matches (a mean over
    another axis, a mask that is not causal, silu of another value) stays
    generic and still runs, only slower.
    Pre: off-fold-shapes ran (tables and masks are constants). Post: the
    recognised patterns are fused ops; ops left without users are erased.

    Before:
    ```mlir
    %sq = off.mul %x, %x : (tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
    %m = off.reduce_mean %sq {axes = array<i64: 2>, keepdims = true} : (tensor<2x8x64xf32>) -> tensor<2x8x1xf32>
    %e = off.add %m, %eps : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
    %r = off.rsqrt %e : tensor<2x8x1xf32>
    %n = off.mul %x, %r : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
    %y = off.mul %w, %n : (tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
    ```
    After:
    ```mlir
    %y = off.rms_norm %x, %w {eps = 1.0e-05 : f64} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let statistics = [
    Statistic<"numRmsNorm", "num-rms-norm", "rms_norm ops formed">,
    Statistic<"numRope", "num-rope", "rope ops formed">,
    Statistic<"numAttention", "num-attention", "attention ops formed">,
    Statistic<"numSwiglu", "num-swiglu", "swiglu ops formed">,
    Statistic<"numEmbedding", "num-embedding", "embedding ops formed">,
  ];
}

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
