//===- OffGradOps.td - gradient ops and the optimizer step ----*- tablegen -*-===//
//
// Ops the autodiff pass emits: the backward of each fused op (each with a
// kernel in every backend), the helpers reverse mode needs (broadcast_to,
// slice_grad, gather_grad), gradient clipping and the AdamW step.
// Gradients of the other graph ops are compositions of graph ops.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_GRAD_OPS_TD
#define OFF_GRAD_OPS_TD

include "OffBase.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Off_RmsNormGradOp : Off_Op<"rms_norm_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "backward of rms_norm: input and weight gradients";
  let description = [{
    Given the forward input `x` `[..., C]`, `weight` `[C]` and the output
    gradient `dy`, returns `dx` (like x) and `dweight` (like weight, summed
    over all rows).

    Example:
    ```mlir
    %dx, %dw = off.rms_norm_grad %x, %w, %dy {eps = 1.0e-05 : f64}
        : (tensor<2x8x64xf32>, tensor<64xf32>, tensor<2x8x64xf32>)
        -> (tensor<2x8x64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input, Off_FloatTensor:$weight,
                   Off_FloatTensor:$grad_output, F64Attr:$eps);
  let results = (outs Off_FloatTensor:$grad_input, Off_FloatTensor:$grad_weight);
  let assemblyFormat = "$input `,` $weight `,` $grad_output attr-dict `:` "
                       "functional-type(operands, results)";
}

def Off_RopeGradOp : Off_Op<"rope_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "backward of rope (the transposed rotation)";
  let description = [{
    rope is linear in x; with `dy` `[B, H, T, D]` and the same `[T, D]` tables,
    `dx = dy * cos + rotate_half^T(dy * sin)` where
    `rotate_half^T(u) = concat(u[..., D/2:], -u[..., :D/2])`.

    Example:
    ```mlir
    %dq = off.rope_grad %dy, %cos, %sin
        : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
        -> tensor<2x4x8x16xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$grad_output, Off_FloatTensor:$cos,
                   Off_FloatTensor:$sin);
  let results = (outs Off_FloatTensor:$grad_input);
  let assemblyFormat = "$grad_output `,` $cos `,` $sin attr-dict `:` "
                       "functional-type(operands, results)";
}

def Off_AttentionGradOp : Off_Op<"attention_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "backward of attention, recomputing the softmax";
  let description = [{
    Same operands and attributes as `off.attention` plus the output gradient
    `dout` `[B, Hq, T, Dv]`; returns `dq`, `dk`, `dv` shaped like q, k, v
    (for GQA, key/value gradients are summed over their query-head group).
    The probabilities are recomputed from q and k, not stored.

    Example:
    ```mlir
    %dq, %dk, %dv = off.attention_grad %q, %k, %v, %do {causal}
        : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>,
           tensor<2x4x8x16xf32>)
        -> (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>)
    ```
  }];
  let arguments = (ins Off_FloatTensor:$query, Off_FloatTensor:$key,
                   Off_FloatTensor:$value, Off_FloatTensor:$grad_output,
                   UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs Off_FloatTensor:$grad_query, Off_FloatTensor:$grad_key,
                      Off_FloatTensor:$grad_value);
  let assemblyFormat = "$query `,` $key `,` $value `,` $grad_output attr-dict "
                       "`:` functional-type(operands, results)";
}

def Off_SwigluGradOp : Off_Op<"swiglu_grad",
    [Pure, AllTypesMatch<["gate", "up", "grad_output", "grad_gate", "grad_up"]>]> {
  let summary = "backward of swiglu";
  let description = [{
    `dgate = dy * up * silu'(gate)`, `dup = dy * silu(gate)`.

    Example:
    ```mlir
    %dg, %du = off.swiglu_grad %g, %u, %dy : tensor<2x8x172xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$gate, Off_FloatTensor:$up,
                   Off_FloatTensor:$grad_output);
  let results = (outs Off_FloatTensor:$grad_gate, Off_FloatTensor:$grad_up);
  let assemblyFormat = "$gate `,` $up `,` $grad_output attr-dict `:` type($gate)";
}

def Off_EmbeddingGradOp : Off_Op<"embedding_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "backward of embedding: scatter-add of rows into [V, C]";
  let description = [{
    `dtable[ids[i]] += dy[i]` over all positions i, in position order (so the
    result is deterministic); rows no id touches are zero.

    Example:
    ```mlir
    %dt = off.embedding_grad %ids, %dy {vocab_size = 256 : i64}
        : (tensor<2x8xi32>, tensor<2x8x64xf32>) -> tensor<256x64xf32>
    ```
  }];
  let arguments = (ins Off_IndexTensor:$ids, Off_FloatTensor:$grad_output,
                   I64Attr:$vocab_size);
  let results = (outs Off_FloatTensor:$grad_table);
  let assemblyFormat = "$ids `,` $grad_output attr-dict `:` "
                       "functional-type(operands, results)";
}

def Off_CrossEntropyGradOp : Off_Op<"cross_entropy_grad",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "backward of cross_entropy: (softmax - onehot) * dloss / N";
  let description = [{
    `logits` `[..., V]`, `targets` `[...]`, `grad_loss` the scalar gradient of
    the mean loss; N is the number of positions.

    Example:
    ```mlir
    %dl = off.cross_entropy_grad %logits, %targets, %dloss
        : (tensor<2x8x256xf32>, tensor<2x8xi32>, tensor<f32>) -> tensor<2x8x256xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$logits, Off_IndexTensor:$targets,
                   0DTensorOf<[AnyFloat]>:$grad_loss);
  let results = (outs Off_FloatTensor:$grad_logits);
  let assemblyFormat = "$logits `,` $targets `,` $grad_loss attr-dict `:` "
                       "functional-type(operands, results)";
}

def Off_SoftmaxGradOp : Off_Op<"softmax_grad",
    [Pure, AllTypesMatch<["output", "grad_output", "grad_input"]>]> {
  let summary = "backward of softmax from its output";
  let description = [{
    `dx = y * (dy - sum(dy * y, axis))`.

    Example:
    ```mlir
    %dx = off.softmax_grad %y, %dy {axis = 1 : i64} : tensor<4x256xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$output, Off_FloatTensor:$grad_output,
                   I64Attr:$axis);
  let results = (outs Off_FloatTensor:$grad_input);
  let assemblyFormat = "$output `,` $grad_output attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Off_BroadcastToOp : Off_Op<"broadcast_to", [Pure]> {
  let summary = "NumPy broadcast of a tensor to a larger shape";
  let description = [{
    The backward of reductions and of broadcasting arithmetic.

    Example:
    ```mlir
    %y = off.broadcast_to %x : tensor<4x1xf32> to tensor<4x64xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
}

def Off_SliceGradOp : Off_Op<"slice_grad", [Pure]> {
  let summary = "backward of slice: the gradient placed into zeros";
  let description = [{
    The result has the forward input's type (given explicitly); the slice
    selected by `axis`/`start`/`end`/`step` holds `grad_output`, the rest is 0.

    Example:
    ```mlir
    %dx = off.slice_grad %dy {axis = 1 : i64, start = 8 : i64, end = 16 : i64}
        : tensor<2x8xf32> to tensor<2x16xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$grad_output, I64Attr:$axis,
                   I64Attr:$start, I64Attr:$end,
                   DefaultValuedAttr<I64Attr, "1">:$step);
  let results = (outs Off_AnyTensor:$grad_input);
  let assemblyFormat = "$grad_output attr-dict `:` type($grad_output) `to` "
                       "type($grad_input)";
  let hasVerifier = 1;
}

def Off_GatherGradOp : Off_Op<"gather_grad", [Pure]> {
  let summary = "backward of gather: scatter-add into zeros of the data type";
  let description = [{
    Example:
    ```mlir
    %dd = off.gather_grad %idx, %dy {axis = 0 : i64}
        : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
    ```
  }];
  let arguments = (ins Off_IndexTensor:$indices, Off_AnyTensor:$grad_output,
                   I64Attr:$axis);
  let results = (outs Off_AnyTensor:$grad_data);
  let assemblyFormat = "$indices `,` $grad_output attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Off_GlobalNormOp : Off_Op<"global_norm", [Pure]> {
  let summary = "the L2 norm of all given tensors together";
  let description = [{
    `sqrt(sum over tensors of sum(g^2))`, as `torch.nn.utils.clip_grad_norm_`
    computes its total norm (accumulated in fp32 or wider).

    Example:
    ```mlir
    %n = off.global_norm %g0, %g1 : tensor<64x64xf32>, tensor<64xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<Off_FloatTensor>:$inputs);
  let results = (outs 0DTensorOf<[F32]>:$norm);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($norm)";
  let hasVerifier = 1;
}

def Off_NormPartialOp : Off_Op<"norm_partial", [Pure, InferTypeOpAdaptor]> {
  let summary = "sums of squares of one tensor, block by block (global_norm's first half)";
  let description = [{
    Cuts the tensor (row-major) into blocks of 65536 elements (the last one
    shorter) and returns each block's sum of squares in f64: element b is
    `sum(g[65536 b .. 65536 (b+1))^2)`. A bf16 tensor is widened exactly
    first. `off.norm_combine` of the partials of tensors g0, g1, ... is, bit
    for bit, `off.global_norm g0, g1, ...`: the block sums are the same and
    are added in the same order. off-split-norm emits it right after a
    gradient is final, so the gradient need not stay alive until the norm.

    Example (70000 elements: two blocks):
    ```mlir
    %p = off.norm_partial %g : tensor<70000xf32> -> tensor<2xf64>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input);
  let results = (outs 1DTensorOf<[F64]>:$partial);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($partial)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Elements per block: the runtime's kNormBlock (runtime/cpu/Reduce.h).
    static constexpr int64_t kBlock = 65536;
    /// The number of blocks of a tensor of `numel` elements.
    static int64_t numBlocks(int64_t numel) { return (numel + kBlock - 1) / kBlock; }
  }];
}

def Off_NormCombineOp : Off_Op<"norm_combine", [Pure]> {
  let summary = "the global norm from the block sums of off.norm_partial";
  let description = [{
    `sqrt` of the sum of every element of every partial, added in order
    (operand by operand, element by element) in f64, rounded to f32: the
    second half of `off.global_norm`, which it replaces after
    off-split-norm.

    Example:
    ```mlir
    %n = off.norm_combine %p0, %p1 : tensor<2xf64>, tensor<1xf64> -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<1DTensorOf<[F64]>>:$partials);
  let results = (outs 0DTensorOf<[F32]>:$norm);
  let assemblyFormat = "$partials attr-dict `:` type($partials) `->` type($norm)";
  let hasVerifier = 1;
}

def Off_AdamStepOp : Off_AnyTierOp<"adam_step",
    [AttrSizedOperandSegments,
     AllTypesMatch<["param", "exp_avg", "exp_avg_sq", "new_param",
                    "new_exp_avg", "new_exp_avg_sq"]>]> {
  let summary = "one AdamW update of a parameter, as torch.optim.AdamW";
  let description = [{
    With the optimizer step count t (kept by the runtime, starting at 1) and
    `g = grad * grad_scale` (`grad_scale` is the clipping coefficient
    `min(1, max_grad_norm / (norm + 1e-6))` when `max_grad_norm` is set and
    `norm` is given, else 1):
    `p -= lr * weight_decay * p; m = beta1 m + (1-beta1) g;
     v = beta2 v + (1-beta2) g^2;
     p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
    Not Pure: the runtime's step count and learning-rate schedule feed it.

    `param`, `exp_avg` and `exp_avg_sq` have one type (the fp32 master
    weights and moments); `grad` has their shape and may be narrower (bf16
    gradients of a mixed-precision step, read as fp32). With `copy`, the
    op also writes the updated weights, rounded to the copy's element type
    (round to nearest even), into `compute_copy`: the `off.param` with
    `copy_of` that the forward reads in place of the master.

    In place: the results are written back into the storage of the operands
    (the lowering aliases result 0 with `param`, 1 with `exp_avg`, 2 with
    `exp_avg_sq`, 3 with `compute_copy`, which are an `off.param`, two
    `off.state`s and a copy `off.param` or their copies in the tier AdamW
    runs in), so the new values are what the next step reads; the results
    have no other uses than a transfer writing a copy back `into` its param
    or state.

    It runs where its tensors are: all of them (the norm too) on the device
    (the compute stream) or all on the host (the host-optimizer stream).

    Example:
    ```mlir
    %p2, %m2, %v2 = off.adam_step %p, %g, %m, %v, %norm {lr = 1.0e-03 : f64,
        beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
        weight_decay = 0.01 : f64, max_grad_norm = 1.0 : f64}
        : tensor<64x64xf32>, tensor<f32>
    // Mixed precision: bf16 gradient, the bf16 copy written too.
    %q2, %n2, %u2, %c2 = off.adam_step %q, %gb, %n, %u, %norm copy %c {lr = 1.0e-03 : f64,
        beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
        weight_decay = 0.01 : f64, max_grad_norm = 1.0 : f64}
        : tensor<64x64xf32>, tensor<f32>, grad tensor<64x64xbf16>, copy tensor<64x64xbf16>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$param, Off_FloatTensor:$grad,
                   Off_FloatTensor:$exp_avg, Off_FloatTensor:$exp_avg_sq,
                   Optional<0DTensorOf<[F32]>>:$norm,
                   Optional<Off_FloatTensor>:$compute_copy,
                   F64Attr:$lr, F64Attr:$beta1, F64Attr:$beta2, F64Attr:$eps,
                   F64Attr:$weight_decay, OptionalAttr<F64Attr>:$max_grad_norm);
  let results = (outs Off_FloatTensor:$new_param, Off_FloatTensor:$new_exp_avg,
                      Off_FloatTensor:$new_exp_avg_sq,
                      Optional<Off_FloatTensor>:$new_compute_copy);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
}

#endif // OFF_GRAD_OPS_TD
