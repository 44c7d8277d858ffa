//===- OffOps.td - graph-level and memory-level ops -----------*- tablegen -*-===//
//
// Graph-level ops have one kernel each in every runtime backend. Gradient ops
// (`*_grad`) and `adam_step` join them with the autodiff pass.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_OPS_TD
#define OFF_OPS_TD

include "OffBase.td"
include "OffAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Sources: parameters and constants
//===----------------------------------------------------------------------===//

def Off_ParamOp : Off_AnyTierOp<"param"> {
  let summary = "a model parameter (weight) with its checkpoint name";
  let description = [{
    Declares one weight of the model. `name` is the tensor's name in
    checkpoints (Hugging Face names for Llama: `model.layers.0.mlp.up_proj.weight`);
    the result type gives shape and dtype, and its tier encoding where the
    weight lives between steps (`off-place`; none: the device). `trainable`
    marks weights that get a gradient and optimizer state.

    With `copy_of`, the op declares a compute copy instead: the values of
    the param named `copy_of` rounded to this type's (narrower) float
    element type, which a mixed-precision step reads in place of the master
    (`off-mix-precision`). A copy is never trainable nor saved; the runtime
    fills it from the master whenever it loads weights, and the master's
    `adam_step` rewrites it after each update.

    Example:
    ```mlir
    %w = off.param "model.embed_tokens.weight" {trainable} : tensor<256x64xf32>
    %h = off.param "lm_head.weight" : tensor<256x64xf32, #off.tier<host>>
    %c = off.param "lm_head.weight.bf16" {copy_of = "lm_head.weight"} : tensor<256x64xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$trainable,
                   OptionalAttr<StrAttr>:$copy_of);
  let builders = [
    // A weight (no copy_of), as importers declare them.
    OpBuilder<(ins "Type":$result, "StringRef":$name, "bool":$trainable), [{
      build($_builder, $_state, result, name, trainable, ::mlir::StringAttr());
    }]>,
  ];
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Off_StateOp : Off_AnyTierOp<"state"> {
  let summary = "persistent optimizer state, zero before the first step";
  let description = [{
    One tensor of optimizer state (AdamW's `exp_avg` and `exp_avg_sq`): it
    lives across training steps, starts as zeros, is saved in checkpoints
    under `name` and is updated in place by `off.adam_step`. The autodiff
    pass names them `<param name>.exp_avg` and `<param name>.exp_avg_sq`.
    Like a param's, its type's tier encoding says where it lives.

    Example:
    ```mlir
    %m = off.state "model.norm.weight.exp_avg" : tensor<64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Off_ConstantOp : Off_Op<"constant",
    [ConstantLike, Pure, InferTypeOpAdaptor]> {
  let summary = "a constant tensor";
  let description = [{
    Example:
    ```mlir
    %c = off.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$value attr-dict";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and element-wise arithmetic
//===----------------------------------------------------------------------===//

def Off_MatmulOp : Off_Op<"matmul", [Pure, InferTypeOpAdaptor]> {
  let summary = "batched matrix product with optional transposes";
  let description = [{
    `lhs` is `[..., M, K]` (`[..., K, M]` with `transpose_lhs`), `rhs` is
    `[..., K, N]` (`[..., N, K]` with `transpose_rhs`); the batch dimensions
    broadcast as in NumPy. The result is `[broadcast batch..., M, N]`.
    A Linear layer `y = x W^T` is `matmul(x, W) {transpose_rhs = true}`.

    Example:
    ```mlir
    %y = off.matmul %x, %w {transpose_rhs = true}
        : (tensor<2x8x64xf32>, tensor<128x64xf32>) -> tensor<2x8x128xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$lhs, Off_FloatTensor:$rhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

class Off_BinaryOp<string mnemonic, string math>
    : Off_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "element-wise " # math # " with NumPy broadcasting";
  let description = [{
    Both operands have the same element type; their shapes broadcast as in
    NumPy (dimensions aligned from the right, size 1 stretches).

    Example:
    ```mlir
    %z = off.}] # mnemonic # [{ %x, %y
        : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$lhs, Off_AnyTensor:$rhs);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Off_AddOp : Off_BinaryOp<"add", "sum">;
def Off_SubOp : Off_BinaryOp<"sub", "difference">;
def Off_MulOp : Off_BinaryOp<"mul", "product">;
def Off_DivOp : Off_BinaryOp<"div", "quotient">;

class Off_UnaryOp<string mnemonic, string math>
    : Off_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "element-wise " # math;
  let description = [{
    Computes }] # math # [{ of every element of a floating-point tensor.

    Example:
    ```mlir
    %y = off.}] # mnemonic # [{ %x : tensor<2x64xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Off_NegOp : Off_UnaryOp<"neg", "-x">;
def Off_ExpOp : Off_UnaryOp<"exp", "exp(x)">;
def Off_SqrtOp : Off_UnaryOp<"sqrt", "sqrt(x)">;
def Off_RsqrtOp : Off_UnaryOp<"rsqrt", "1/sqrt(x)">;
def Off_SiluOp : Off_UnaryOp<"silu", "x * sigmoid(x)">;
def Off_SigmoidOp : Off_UnaryOp<"sigmoid", "1/(1+exp(-x))">;

//===----------------------------------------------------------------------===//
// Data movement within a tensor
//===----------------------------------------------------------------------===//

def Off_CastOp : Off_Op<"cast", [Pure]> {
  let summary = "element type conversion";
  let description = [{
    Converts every element to the result's element type (round to nearest
    even for floats); the shape does not change.

    Example:
    ```mlir
    %y = off.cast %x : tensor<4x64xf32> to tensor<4x64xbf16>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
}

def Off_ReshapeOp : Off_Op<"reshape", [Pure]> {
  let summary = "same elements in row-major order, a new static shape";
  let description = [{
    Example:
    ```mlir
    %y = off.reshape %x : tensor<2x8x64xf32> to tensor<2x8x4x16xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
}

def Off_TransposeOp : Off_Op<"transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "permutes dimensions";
  let description = [{
    Result dimension `i` is input dimension `perm[i]`.

    Example:
    ```mlir
    %y = off.transpose %x {perm = array<i64: 0, 2, 1, 3>}
        : (tensor<2x8x4x16xf32>) -> tensor<2x4x8x16xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Off_SliceOp : Off_Op<"slice", [Pure, InferTypeOpAdaptor]> {
  let summary = "a strided range along one axis";
  let description = [{
    Keeps indices `start, start + step, ...` below `end` along `axis`.
    Indices are non-negative and `0 <= start <= end <= size`; `step >= 1`.

    Example:
    ```mlir
    %lo = off.slice %x {axis = 3 : i64, start = 0 : i64, end = 8 : i64}
        : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input, I64Attr:$axis, I64Attr:$start,
                   I64Attr:$end, DefaultValuedAttr<I64Attr, "1">:$step);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Off_ConcatOp : Off_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "joins tensors along one axis";
  let description = [{
    All inputs have the same rank, element type and sizes except along `axis`.

    Example:
    ```mlir
    %y = off.concat %a, %b {axis = 1 : i64}
        : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Off_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

def Off_GatherOp : Off_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "picks slices of `data` along `axis` by integer indices";
  let description = [{
    As ONNX Gather: the result shape is
    `data.shape[:axis] + indices.shape + data.shape[axis+1:]`.

    Example:
    ```mlir
    %y = off.gather %data, %idx {axis = 0 : i64}
        : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$data, Off_IndexTensor:$indices,
                   I64Attr:$axis);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat =
      "$data `,` $indices attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Reductions and normalisations
//===----------------------------------------------------------------------===//

class Off_ReduceOp<string mnemonic, string what>
    : Off_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = what # " over the given axes";
  let description = [{
    Reduces over `axes` (distinct, in range); `keepdims` keeps them as size 1.

    Example:
    ```mlir
    %y = off.}] # mnemonic # [{ %x {axes = array<i64: 1>, keepdims = true}
        : (tensor<4x64xf32>) -> tensor<4x1xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input, DenseI64ArrayAttr:$axes,
                   DefaultValuedAttr<BoolAttr, "false">:$keepdims);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Off_ReduceSumOp : Off_ReduceOp<"reduce_sum", "sum">;
def Off_ReduceMeanOp : Off_ReduceOp<"reduce_mean", "mean">;
def Off_ReduceMaxOp : Off_ReduceOp<"reduce_max", "maximum">;

def Off_SoftmaxOp : Off_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let description = [{
    Example:
    ```mlir
    %p = off.softmax %x {axis = 1 : i64} : tensor<4x256xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Off_RmsNormOp : Off_Op<"rms_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "RMSNorm over the last dimension, scaled by a weight";
  let description = [{
    `y = x / sqrt(mean(x^2, -1) + eps) * weight`, as Llama's `LlamaRMSNorm`.
    `weight` is `[C]` where `x` is `[..., C]`.

    Example:
    ```mlir
    %y = off.rms_norm %x, %w {eps = 1.0e-05 : f64}
        : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input, Off_FloatTensor:$weight,
                   F64Attr:$eps);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused LLM ops
//===----------------------------------------------------------------------===//

def Off_RopeOp : Off_Op<"rope", [Pure, InferTypeOpAdaptor]> {
  let summary = "rotary position embedding (rotate-half form, as HF Llama)";
  let description = [{
    `x` is `[B, H, T, D]` (batch, heads, sequence, head dim; D even), `cos`
    and `sin` are `[T, D]` tables (each frequency repeated in both halves).
    `y = x * cos + rotate_half(x) * sin` with
    `rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2])`.

    Example:
    ```mlir
    %q2 = off.rope %q, %cos, %sin
        : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
        -> tensor<2x4x8x16xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$input, Off_FloatTensor:$cos,
                   Off_FloatTensor:$sin);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat = "$input `,` $cos `,` $sin attr-dict `:` "
                       "functional-type(operands, results)";
}

def Off_AttentionOp : Off_Op<"attention", [Pure, InferTypeOpAdaptor]> {
  let summary = "scaled dot-product attention, optionally causal, with GQA";
  let description = [{
    `q` is `[B, Hq, T, D]`, `k` is `[B, Hkv, S, D]`, `v` is `[B, Hkv, S, Dv]`
    with `Hq` a multiple of `Hkv` (grouped-query attention: query head `h`
    reads key/value head `h / (Hq / Hkv)`). The result is `[B, Hq, T, Dv]`.
    `scale` defaults to `1/sqrt(D)`. With `causal`, query `t` sees keys
    `s <= t + (S - T)` (so `T <= S`).

    Example:
    ```mlir
    %o = off.attention %q, %k, %v {causal}
        : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>)
        -> tensor<2x4x8x16xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$query, Off_FloatTensor:$key,
                   Off_FloatTensor:$value, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$scale);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key `,` $value attr-dict `:` "
                       "functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// The softmax scale: the attribute, or 1/sqrt(head dim).
    double getScaleOrDefault();
  }];
}

def Off_SwigluOp : Off_Op<"swiglu", [Pure, SameOperandsAndResultType]> {
  let summary = "silu(gate) * up, the gated MLP activation of Llama";
  let description = [{
    Example:
    ```mlir
    %h = off.swiglu %gate, %up : tensor<2x8x172xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$gate, Off_FloatTensor:$up);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Off_EmbeddingOp : Off_Op<"embedding", [Pure, InferTypeOpAdaptor]> {
  let summary = "token embedding lookup: rows of a [V, C] table";
  let description = [{
    `ids` of any shape index rows of `table` `[V, C]`; the result is
    `ids.shape + [C]`. Ids outside `[0, V)` are a runtime error.

    Example:
    ```mlir
    %x = off.embedding %table, %ids
        : (tensor<256x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$table, Off_IndexTensor:$ids);
  let results = (outs Off_FloatTensor:$result);
  let assemblyFormat =
      "$table `,` $ids attr-dict `:` functional-type(operands, results)";
}

def Off_CrossEntropyOp : Off_Op<"cross_entropy", [Pure, InferTypeOpAdaptor]> {
  let summary = "mean softmax cross-entropy of logits against target ids";
  let description = [{
    `logits` is `[..., V]`, `targets` is `[...]` (the same leading shape).
    The result is the scalar mean over all positions of
    `logsumexp(logits) - logits[target]`.

    Example:
    ```mlir
    %loss = off.cross_entropy %logits, %targets
        : (tensor<2x8x256xf32>, tensor<2x8xi32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Off_FloatTensor:$logits, Off_IndexTensor:$targets);
  let results = (outs 0DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat =
      "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Memory level: inserted by the planner
//===----------------------------------------------------------------------===//

class Off_TransferOp<string mnemonic, string direction>
    : Off_AnyTierOp<mnemonic, [InferTypeOpAdaptor]> {
  let description = [{
    Starts an asynchronous copy of `input` from tier `from` to tier `to` (}]
    # direction # [{). `result` is the copy in the destination tier: its type
    is the input's with the tier encoding of `to` (none for the device); it
    may be read only after an `off.wait` on `token`. The input's type must be
    in tier `from`.

    With `into`, the copy overwrites the storage of `into` (an `off.param` or
    `off.state` living in tier `to`) instead of a new buffer, and `result` is
    its new value: how an update made in another tier (AdamW on the host) is
    written back to where the tensor lives.

    Example:
    ```mlir
    %h, %t = off.}] # mnemonic # [{ %x from <device> to <host> : tensor<64x64xf32>
    // %h : tensor<64x64xf32, #off.tier<host>>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input, Optional<Off_AnyTensor>:$into,
                   Off_TierAttr:$from, Off_TierAttr:$to);
  let results = (outs Off_AnyTensor:$result, Off_TokenType:$token);
  let assemblyFormat =
      "$input (`into` $into^)? `from` $from `to` $to attr-dict `:` type($input) "
      "(`into` type($into)^)?";
  let hasVerifier = 1;
}

def Off_OffloadOp : Off_TransferOp<"offload", "to a slower tier"> {
  let summary = "starts moving a value to a slower tier";
}

def Off_PrefetchOp : Off_TransferOp<"prefetch", "to a faster tier"> {
  let summary = "starts bringing a value back to a faster tier";
  let description = [{
    Starts an asynchronous copy of `input` from tier `from` to the faster
    tier `to`; `result` (the input's type in tier `to`) may be read only
    after an `off.wait` on `token`. With `into`, the copy overwrites that
    param or state (living in tier `to`) and `result` is its new value.

    Example:
    ```mlir
    %d, %t = off.prefetch %h from <host> to <device> : tensor<64x64xf32, #off.tier<host>>
    %w2, %t2 = off.prefetch %p into %w from <host> to <device>
        : tensor<64x64xf32, #off.tier<host>> into tensor<64x64xf32>
    ```
  }];
}

def Off_RecordOp : Off_AnyTierOp<"record"> {
  let summary = "an event after the ops before it on its stream";
  let description = [{
    Inserted by `off-schedule`: `token` completes when every op before the
    record on the record's stream (`off.stream`) has completed. An
    `off.wait` on it orders the waiting stream after them.

    Example:
    ```mlir
    %e = off.record {off.stream = #off.stream<compute>}
    off.wait %e {off.stream = #off.stream<h2d>}
    ```
  }];
  let results = (outs Off_TokenType:$token);
  let assemblyFormat = "attr-dict";
}

def Off_WaitOp : Off_AnyTierOp<"wait"> {
  let summary = "blocks until the given transfers or events have completed";
  let description = [{
    Ops after the wait (on its stream, once scheduled) are ordered after the
    completion of every token.

    Example:
    ```mlir
    off.wait %t0, %t1
    ```
  }];
  let arguments = (ins Variadic<Off_TokenType>:$tokens);
  let assemblyFormat = "$tokens attr-dict";
  let hasVerifier = 1;
}

def Off_FreeOp : Off_AnyTierOp<"free"> {
  let summary = "releases a value's buffer in a tier";
  let description = [{
    The value must not be used by any op after the free in the same block,
    and `from` must be the tier of its type.

    Example:
    ```mlir
    off.free %x from <device> : tensor<64x64xf32>
    off.free %h from <host> : tensor<64x64xf32, #off.tier<host>>
    ```
  }];
  let arguments = (ins Off_AnyTensor:$input, Off_TierAttr:$from);
  let assemblyFormat = "$input `from` $from attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Off_RecomputeOp : Off_Op<"recompute",
    [SingleBlockImplicitTerminator<"YieldOp">,
     RecursiveMemoryEffects]> {
  let summary = "recomputes values (activation checkpointing)";
  let description = [{
    The region is a copy of the forward ops that produced the results; it is
    executed again where the results are needed instead of keeping them
    alive. The region yields exactly the result types.

    Example:
    ```mlir
    %h = off.recompute -> tensor<2x8x64xf32> {
      %y = off.silu %x : tensor<2x8x64xf32>
      off.yield %y : tensor<2x8x64xf32>
    }
    ```
  }];
  let results = (outs Variadic<Off_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "(`->` type($results)^)? $body attr-dict";
  let hasVerifier = 1;
}

def Off_YieldOp : Off_Op<"yield", [Pure, Terminator,
                                   HasParent<"RecomputeOp">]> {
  let summary = "returns values from an off.recompute region";
  let arguments = (ins Variadic<Off_AnyTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* no values */ }]>];
}

// The communication channel every rank's collectives go through, in the same
// order on every rank: collectives read and write it, so passes keep their
// order, never merge two alike (CSE) and never drop one whose result is
// unused (each rank must take part in every collective).
def Off_CommResource : Resource<"::mlir::off::CommResource">;

class Off_CollectiveOp<string mnemonic>
    : Off_Op<mnemonic, [InferTypeOpAdaptor,
                        MemoryEffects<[MemRead<Off_CommResource>,
                                       MemWrite<Off_CommResource>]>]> {
  let arguments = (ins Off_AnyTensor:$input, I64Attr:$axis, I64Attr:$ranks);
  let results = (outs Off_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Off_AllGatherOp : Off_CollectiveOp<"all_gather"> {
  let summary = "concatenates every rank's shard along an axis";
  let description = [{
    Each of `ranks` ranks holds a shard; the result, on every rank, is the
    shards concatenated in rank order along `axis`.

    Example:
    ```mlir
    %full = off.all_gather %shard {axis = 0 : i64, ranks = 4 : i64}
        : (tensor<16x64xf32>) -> tensor<64x64xf32>
    ```
  }];
}

def Off_ReduceScatterOp : Off_CollectiveOp<"reduce_scatter"> {
  let summary = "sums over ranks and keeps this rank's slice along an axis";
  let description = [{
    The input's `axis` is split into `ranks` equal slices; rank `r` gets the
    sum over all ranks of slice `r`.

    Example:
    ```mlir
    %g = off.reduce_scatter %grad {axis = 0 : i64, ranks = 4 : i64}
        : (tensor<64x64xf32>) -> tensor<16x64xf32>
    ```
  }];
}

include "OffGradOps.td"

#endif // OFF_OPS_TD
