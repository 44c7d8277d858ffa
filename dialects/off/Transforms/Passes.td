//===- Passes.td - graph-level passes of the off dialect ------*- tablegen -*-===//
//
// In pipeline order: an imported graph runs off-fold-shapes, then
// off-fuse-llm (the registered `off-import` pipeline), then off-autodiff
// (`off-compile` adds it; see Passes.h). Each pass states what it expects
// and what it guarantees.
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
       transpose, reshape - transpose - reshape that only permutes whole
       dimensions becomes one transpose, and reshape - swap of the last two
       dims - reshape where the reshapes only regroup the leading dims
       becomes a reshape, then the swap (k^T of repeated key heads through a
       [B*H, S, D] view);
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
      the scale split anywhere over q, k^T and the scores, k^T written as
      `transpose_rhs` or a transpose of a rank-4 value (the keys are that
      value with the same permutation but the last two entries swapped: a
      new transpose unless that is the identity, as for PyTorch's SDPA
      decomposition {0, 2, 3, 1} of [B, S, H, D] keys), grouped-query
      key/value heads repeated by `reshape(broadcast_to(reshape(k)))` (the repeat is dropped: the fused
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

def MixPrecisionPass : Pass<"off-mix-precision", "ModuleOp"> {
  let summary = "bf16 matmuls and attention on compute copies of the params, fp32 elsewhere";
  let description = [{
    Rewrites `@forward` for mixed-precision training the way
    `torch.autocast("cpu", dtype=torch.bfloat16)` runs a Llama forward, op
    by op, so that a plan's losses follow a PyTorch autocast run:

    * `matmul` and `attention` run in the compute type: f32 operands are
      cast to it, and so is their result (the kernels accumulate in fp32
      and round once). An operand that is an f32 `off.param` reads the
      param's compute copy instead of a cast: one `off.param
      "<name>.bf16" {copy_of = "<name>"}` per param, right after it, which
      off-autodiff keeps in step with the fp32 master (`adam_step ... copy`).
    * `rms_norm`, `softmax`, `reduce_sum`, `reduce_mean` and
      `cross_entropy` run in f32: narrower operands are cast to f32.
    * Every other op with float operands of different types (a residual
      `add` of an f32 stream and a bf16 projection, `rope` of a bf16 head
      with f32 tables) casts the narrower ones to the widest, as torch's
      type promotion does; ops on one float type (`swiglu`, `transpose`,
      `reshape`, ...) keep it. `embedding` keeps its table's type.
    * `@forward`'s results keep their declared types (a cast back to f32
      before the return where needed: f32 logits).

    One cast per value and target type, inserted before its first user.
    Pre: `@forward` with one block and no compute copies, no `@train_step`
    (run before off-autodiff). Post: every `matmul` and `attention` of
    `@forward` is in the compute type; the masters stay f32 (their uses by
    other ops, e.g. an embedding table, read them directly).

    Before:
    ```mlir
    %w = off.param "lm_head.weight" {trainable} : tensor<256x64xf32>
    %y = off.matmul %x, %w {transpose_rhs = true}
        : (tensor<2x8x64xf32>, tensor<256x64xf32>) -> tensor<2x8x256xf32>
    return %y : tensor<2x8x256xf32>
    ```
    After:
    ```mlir
    %w = off.param "lm_head.weight" {trainable} : tensor<256x64xf32>
    %wc = off.param "lm_head.weight.bf16" {copy_of = "lm_head.weight"} : tensor<256x64xbf16>
    %xc = off.cast %x : tensor<2x8x64xf32> to tensor<2x8x64xbf16>
    %yc = off.matmul %xc, %wc {transpose_rhs = true}
        : (tensor<2x8x64xbf16>, tensor<256x64xbf16>) -> tensor<2x8x256xbf16>
    %y = off.cast %yc : tensor<2x8x256xbf16> to tensor<2x8x256xf32>
    return %y : tensor<2x8x256xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect",
                           "::mlir::func::FuncDialect"];
  let options = [
    Option<"computeType", "compute-type", "std::string", /*default=*/"\"bf16\"",
           "The type of matmuls and attention: bf16 or f16">,
  ];
  let statistics = [
    Statistic<"numCasts", "num-casts", "off.cast ops inserted">,
    Statistic<"numCopies", "num-copies", "Compute copies of params declared">,
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

    Compute copies (`off.param` with `copy_of`, from off-mix-precision)
    stand for their master: a trainable master whose copy reaches the
    logits is trained; the gradient reaching the copy is the master's, in
    the copy's type (bf16) or, with `copy-grad-type=f32`, cast to f32 per
    micro-batch before the sum (as torch accumulates `.grad` of fp32 params
    under autocast); a master read directly as well gets the f32 sum of
    both. Its `adam_step` gets the copy (`copy %c`) and rewrites it.

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
    Option<"copyGradType", "copy-grad-type", "std::string",
           /*default=*/"\"copy\"",
           "The type of a gradient that reaches a param through its compute "
           "copy: copy (the copy's, e.g. bf16) or f32">,
  ];
  let statistics = [
    Statistic<"numGradientOps", "num-gradient-ops",
              "Ops emitted for the backward of one micro-batch">,
    Statistic<"numTrainedParams", "num-trained-params",
              "Params that get an adam_step">,
  ];
}

//===----------------------------------------------------------------------===//
// The memory level, in pipeline order after off-autodiff: off-split-norm,
// off-place, off-remat, off-lower-recompute, off-insert-transfers,
// off-schedule, off-assign-buffers, off-serialize-plan. They work on the
// step function (one block); `off-compile` (Pipeline.cpp) runs them all.
//===----------------------------------------------------------------------===//

def SplitNormPass : Pass<"off-split-norm", "::mlir::func::FuncOp"> {
  let summary = "takes the global gradient norm gradient by gradient, as each is made";
  let description = [{
    `off.global_norm` reads all gradients at the end of the backward, so
    every gradient is alive until then: as many bytes as the params, which
    keeps a large model from fitting any budget. This pass replaces each
    `off.global_norm %g0, %g1, ...` by

    * one `off.norm_partial %gi` per distinct gradient, right after the op
      that makes it (the backward phase, in that op's layer segment): its
      block sums of squares, one f64 per 65536 elements;
    * `off.norm_combine` of the partials, in the operands' order, where the
      global_norm was (the update phase).

    The block sums and the order they are added in are global_norm's (see
    `off.norm_partial`), so the norm and everything clipped by it are the
    same bits. Afterwards a gradient's last use is its partial or its AdamW,
    so off-insert-transfers can offload it and free the device copy within
    its layer.

    Pre: static shapes; no memory-level decisions yet (no `off.home`,
    transfers or `off.recompute`: run it before off-place).
    Post: no `off.global_norm` is left. A step without one (a forward step,
    or a step already split) is left as it is.

    Before:
    ```mlir
    %g0 = off.matmul %dy, %x {transpose_lhs = true} : ... -> tensor<8x8xf32>
    %g1 = off.embedding_grad %ids, %dx {vocab_size = 16 : i64} : ... -> tensor<16x8xf32>
    %n = off.global_norm %g0, %g1 : tensor<8x8xf32>, tensor<16x8xf32> -> tensor<f32>
    ```
    After:
    ```mlir
    %g0 = off.matmul %dy, %x {transpose_lhs = true} : ... -> tensor<8x8xf32>
    %p0 = off.norm_partial %g0 : tensor<8x8xf32> -> tensor<1xf64>
    %g1 = off.embedding_grad %ids, %dx {vocab_size = 16 : i64} : ... -> tensor<16x8xf32>
    %p1 = off.norm_partial %g1 : tensor<16x8xf32> -> tensor<1xf64>
    %n = off.norm_combine %p0, %p1 : tensor<1xf64>, tensor<1xf64> -> tensor<f32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let statistics = [
    Statistic<"numPartials", "num-partials", "off.norm_partial ops made">,
  ];
}

def PlacePass : Pass<"off-place", "::mlir::func::FuncOp"> {
  let summary = "decides the tier of params, optimizer states, gradients and saved activations";
  let description = [{
    Applies the `place` rules in order (a later rule overrides an earlier one
    for what both match). A rule is `CLASS_OR_PATTERN=TIER` with TIER one of
    `device`, `host`, `nvme` and CLASS one of

    * `params`: every `off.param`;
    * `optimizer`: every `off.state` (AdamW's moments; AdamW then runs on
      the host-optimizer stream, see off-insert-transfers);
    * `grads`: the gradient each `off.adam_step` reads, and with K > 1
      micro-batches the partial sums it accumulates from;
    * `activations`: forward values that the backward reads (saved
      activations);

    or a glob pattern over the names of params and optimizer states
    (`model.layers.*.mlp.*` matches `model.layers.0.mlp.up_proj.weight` and its
    `.exp_avg`). A pattern ending in `.grad` matches gradients, named `<param
    name>.grad` (`model.layers.0.*.grad=device` keeps layer 0's gradients on
    the device against an earlier `grads=host`), and only them; other
    patterns never match a gradient.

    Records each decision other than the device as the discardable attribute
    `off.home = #off.tier<...>` on the op defining the value (for all its
    results); off-insert-transfers realises it. Pre: no transfers yet.
    Post: the IR is unchanged but for `off.home`.
    Fails on a malformed rule or a pattern that matches nothing.

    Before (`place=optimizer=host,model.layers.*=nvme`):
    ```mlir
    %w = off.param "model.layers.0.mlp.up_proj.weight" {trainable} : tensor<172x64xf32>
    %m = off.state "lm_head.weight.exp_avg" : tensor<256x64xf32>
    ```
    After:
    ```mlir
    %w = off.param "model.layers.0.mlp.up_proj.weight" {off.home = #off.tier<nvme>, trainable} : tensor<172x64xf32>
    %m = off.state "lm_head.weight.exp_avg" {off.home = #off.tier<host>} : tensor<256x64xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let options = [
    ListOption<"rules", "place", "std::string",
               "CLASS_OR_PATTERN=TIER rules, applied in order">,
  ];
  let statistics = [
    Statistic<"numPlaced", "num-placed", "Values given a tier other than the device">,
  ];
}

def RematPass : Pass<"off-remat", "::mlir::func::FuncOp"> {
  let summary = "recomputes a layer's activations in its backward instead of saving them";
  let description = [{
    Activation checkpointing per layer. A layer is the group of forward ops
    whose params share a `<prefix>.layers.N` name (ops reading no param
    belong to the layer of the op before them); its checkpoints are its
    values read by a later layer (the residual stream). For each selected
    layer of each micro-batch, the forward ops that compute the values its
    backward reads are copied into one `off.recompute` region, placed right
    before the first backward op that reads one of them; the backward then
    reads the region's results, so the forward values die after the forward.

    `remat` is `none`, `all` (every layer) or a glob pattern over layer names
    (`model.layers.1`, `model.layers.*`, `{model.layers.0,model.layers.2}`:
    braces list alternatives). The recomputed values are bit for
    bit the saved ones (same kernels, same inputs).
    Pre: a training step (off-autodiff ran); no transfers yet.
    Post: backward ops read no forward value of a selected layer other than
    its inputs and params.

    Before (`remat=all`, a one-op layer):
    ```mlir
    %h = off.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %y = off.silu %h : tensor<4x8xf32>
    ...
    %g = off.mul %dy, %y : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    ```
    After:
    ```mlir
    %r = off.recompute -> tensor<4x8xf32> {
      %h2 = off.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
      %y2 = off.silu %h2 : tensor<4x8xf32>
      off.yield %y2 : tensor<4x8xf32>
    }
    %g = off.mul %dy, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let options = [
    Option<"remat", "remat", "std::string", /*default=*/"\"none\"",
           "none, all, or a glob pattern over layer names">,
  ];
  let statistics = [
    Statistic<"numRegions", "num-regions", "off.recompute regions made">,
    Statistic<"numRecomputedOps", "num-recomputed-ops", "Ops copied into them">,
  ];
}

def LowerRecomputePass : Pass<"off-lower-recompute", "::mlir::func::FuncOp"> {
  let summary = "replaces each off.recompute by the kernels of its region";
  let description = [{
    Moves the ops of every `off.recompute` region in front of it and
    replaces its results by the yielded values: recomputation is a second run
    of the same kernels, never a kernel of its own.
    Post: no `off.recompute` is left.

    Before:
    ```mlir
    %r = off.recompute -> tensor<4xf32> {
      %y = off.silu %x : tensor<4xf32>
      off.yield %y : tensor<4xf32>
    }
    ```
    After:
    ```mlir
    %r = off.silu %x : tensor<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
}

def InsertTransfersPass : Pass<"off-insert-transfers", "::mlir::func::FuncOp"> {
  let summary = "moves values between tiers: offload, prefetch, wait, free";
  let description = [{
    Realises off-place's decisions (`off.home`, which it removes). A param
    or optimizer state placed off the device gets that tier in its type.
    Every op then reads copies in the tier it needs: kernels the device,
    `off.adam_step` the host when its moments live off the device (else the
    device). Uses of a value are grouped per layer: uses separated by at
    least one whole layer get separate copies. For each group the pass
    inserts the transfers from where the value lives (nvme -> host ->
    device, each hop an `off.prefetch`), issued one layer ahead of the first
    use, an `off.wait` on the last hop's token right before that use, and an
    `off.free` of the copy after its last use. With `prefetch=0` each such
    copy is issued right before its first use instead, so the compute stream
    waits for it (no overlap: what accelerate's per-module weight movement
    does; `offc compile --strategy accelerate-offload`). A value computed on
    the device and placed elsewhere is offloaded right after it is computed; the device
    copy serves the uses up to the next layer and is freed (after a wait on
    the offload) once they are over and the next layer has begun.

    AdamW on the host moves up to right after the last op it must follow
    (its gradient's and norm's producers, the last other use of its param
    and moments); an unclipped one no longer reads the norm. Its updated
    param and moments are written back (`into`) to where they live when
    that is another tier.

    Pre: off-lower-recompute ran; no transfers yet. Post: every op reads and
    writes tensors in the tier it needs (the verifier's rule), every transfer
    result is read only after a wait on its token.

    Before (`off.home` from `place=params=host`):
    ```mlir
    %w = off.param "w" {off.home = #off.tier<host>} : tensor<8x8xf32>
    %y = off.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    ```
    After:
    ```mlir
    %w = off.param "w" : tensor<8x8xf32, #off.tier<host>>
    %d, %t = off.prefetch %w from <host> to <device> {off.stream = #off.stream<h2d>} : tensor<8x8xf32, #off.tier<host>>
    off.wait %t
    %y = off.matmul %x, %d : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    off.free %d from <device> {off.stream = #off.stream<compute>} : tensor<8x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let options = [
    Option<"prefetch", "prefetch", "int64_t", /*default=*/"1",
           "Layers ahead of its first use a copy toward a faster tier is issued: "
           "1, or 0 (right before the use)">,
  ];
  let statistics = [
    Statistic<"numTransfers", "num-transfers", "Transfers inserted">,
    Statistic<"numHoisted", "num-hoisted", "Host AdamW steps moved up">,
  ];
}

def SchedulePass : Pass<"off-schedule", "::mlir::func::FuncOp"> {
  let summary = "puts every op on a stream and orders the streams with events";
  let description = [{
    Streams: kernels run on `compute`, transfers on the copy stream of their
    direction (`h2d`, `d2h`, `nvme_read`, `nvme_write`), a host AdamW on
    `host_optimizer`; a wait without a stream goes to the stream of the op
    after it. Each stream runs its ops in block order.

    Events (`off.record` on one stream, `off.wait` on another), inserted
    right before an op O on stream S wherever the order is not yet implied:
    O must follow (1) when S is not compute, every compute op before it in
    block order (a transfer is issued when the compute stream gets there,
    which is what lets its buffer reuse memory freed before it); (2) the
    producer of each operand; (3) when O updates a tensor in place (AdamW,
    a transfer `into`), every earlier access of that tensor; (4) when O
    makes a new buffer, every `off.free` of its tier before it (so the
    freed bytes are O's to reuse).

    Pre: off-insert-transfers ran. Post: every op has `off.stream`; in block
    order, every op's inputs are ready and its in-place writes safe under
    any timing of the streams.

    Before:
    ```mlir
    %d, %t = off.prefetch %w from <host> to <device> : tensor<8x8xf32, #off.tier<host>>
    off.wait %t
    %y = off.matmul %x, %d : ...
    ```
    After:
    ```mlir
    %e = off.record {off.stream = #off.stream<compute>}
    off.wait %e {off.stream = #off.stream<h2d>}
    %d, %t = off.prefetch %w from <host> to <device> {off.stream = #off.stream<h2d>} : ...
    off.wait %t {off.stream = #off.stream<compute>}
    %y = off.matmul %x, %d {off.stream = #off.stream<compute>} : ...
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let statistics = [
    Statistic<"numEvents", "num-events", "off.record events inserted">,
  ];
}

def AssignBuffersPass : Pass<"off-assign-buffers", "::mlir::func::FuncOp"> {
  let summary = "gives every buffer an offset in its tier's arena";
  let description = [{
    One arena per tier. Params, optimizer states, constants, inputs and
    outputs live for the whole step; any other buffer from the op that writes
    it to its last access. Two buffers may share bytes only when every access
    of one happens before the first write of the other in the order of the
    streams and events (off-schedule), so what shares memory never races.
    Views (reshape), AdamW's in-place results and write-backs `into` a
    tensor use the bytes of what they alias. Packing is greedy best-fit by
    decreasing size (deterministic); offsets are multiples of `alignment`.
    Buffers of 64 KiB and more alive at the same time are kept from starting
    at addresses that agree in bits 12-27 (mod 256 MiB within 4 KiB), which
    AMD Zen's L1 way predictor punishes 4-5x (docs/benchmarks.md): such a
    buffer moves up by 4 KiB steps. A kernel whose runtime rule asks for
    scratch (runtime/cpu/CpuWorkspace.h, linked into the compiler) gets a
    workspace buffer in the tier of its operands, alive only while it runs.

    Writes `off.offsets = array<i64: ...>` (each tensor result's offset in
    its tier's arena) on every op with tensor results, `off.workspace =
    array<i64: offset, bytes>` on a kernel with workspace, `off.arg_offsets` and
    `off.arena_sizes = {device = N : i64, ...}` (the exact peak per tier) on
    the function. With a budget per tier (bytes, 0 = none), a tier over it is
    an error saying by how much and what its peak holds.

    Pre: off-schedule ran. Post: no two buffers that may be live at once
    share a byte.

    After:
    ```mlir
    func.func @f(...) attributes {off.arena_sizes = {device = 4096 : i64}, off.arg_offsets = array<i64: 0>} {
      %y = off.matmul %x, %w {off.offsets = array<i64: 1024>, ...} : ...
    ```
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let options = [
    Option<"alignment", "alignment", "uint64_t", /*default=*/"64",
           "Byte alignment of every offset">,
    Option<"deviceBudget", "vram", "uint64_t", /*default=*/"0",
           "Device budget in bytes (0: none)">,
    Option<"hostBudget", "host-ram", "uint64_t", /*default=*/"0",
           "Host budget in bytes (0: none)">,
    Option<"nvmeBudget", "nvme-size", "uint64_t", /*default=*/"0",
           "NVMe budget in bytes (0: none)">,
  ];
}

def SerializePlanPass : Pass<"off-serialize-plan", "::mlir::func::FuncOp"> {
  let summary = "writes the scheduled, assigned step as plan.bin";
  let description = [{
    Translates the step function into the runtime's plan (compiler/Plan/
    SerializePlan.cpp; format in docs/plan-format.md): arguments become
    INPUT tensors, returned values OUTPUT, `off.param` PARAM, `off.state`
    OPTIMIZER_STATE, `off.constant` CONSTANT with its bytes, the gradient
    AdamW reads GRAD, everything else ACTIVATION (copies in another tier
    are named after what they copy: `lm_head.weight@device`). One tier and
    one arena per tier used (the device first), one stream per stream used
    (compute first), kernels, copies, and events for the tokens that are
    waited on. The plan is checked (runtime/plan's validator and static
    verifier) before it is written to `output`.
    Pre: off-assign-buffers ran.
  }];
  let dependentDialects = ["::mlir::off::OffDialect"];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "plan.bin to write (atomically)">,
  ];
}

#endif // OFF_TRANSFORMS_PASSES
