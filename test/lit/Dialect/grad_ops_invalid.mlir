// RUN: off-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of the gradient and optimizer ops, one case each.

// Tests that rms_norm_grad's output gradient has the input's type.
func.func @f(%x: tensor<2x64xf32>, %w: tensor<64xf32>, %dy: tensor<2x32xf32>) {
  // expected-error @+2 {{grad_output must have the input's type}}
  // expected-error @+1 {{failed to infer returned types}}
  %dx, %dw = off.rms_norm_grad %x, %w, %dy {eps = 1.0e-05 : f64}
      : (tensor<2x64xf32>, tensor<64xf32>, tensor<2x32xf32>) -> (tensor<2x64xf32>, tensor<64xf32>)
  return
}

// -----

// Tests that rms_norm_grad checks the forward shapes.
func.func @f(%x: tensor<2x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+2 {{weight must be [C] where input is [..., C]}}
  // expected-error @+1 {{failed to infer returned types}}
  %dx, %dw = off.rms_norm_grad %x, %w, %x {eps = 1.0e-05 : f64}
      : (tensor<2x64xf32>, tensor<32xf32>, tensor<2x64xf32>) -> (tensor<2x64xf32>, tensor<32xf32>)
  return
}

// -----

// Tests that rope_grad checks its tables as rope does.
func.func @f(%dy: tensor<2x4x8x16xf32>, %c: tensor<4x16xf32>) {
  // expected-error @+2 {{cos and sin must be [T, D] = [8, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %dx = off.rope_grad %dy, %c, %c
      : (tensor<2x4x8x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<2x4x8x16xf32>
  return
}

// -----

// Tests that attention_grad's output gradient has the attention output's type.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x8x16xf32>, %do: tensor<2x4x8x8xf32>) {
  // expected-error @+2 {{grad_output must have the attention output's type}}
  // expected-error @+1 {{failed to infer returned types}}
  %dq, %dk, %dv = off.attention_grad %q, %k, %k, %do
      : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x8xf32>)
      -> (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>)
  return
}

// -----

// Tests that attention_grad checks the forward rules (causal needs T <= S).
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x4x16xf32>) {
  // expected-error @+2 {{causal attention needs query length <= key length}}
  // expected-error @+1 {{failed to infer returned types}}
  %dq, %dk, %dv = off.attention_grad %q, %k, %k, %q {causal}
      : (tensor<2x4x8x16xf32>, tensor<2x2x4x16xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8x16xf32>)
      -> (tensor<2x4x8x16xf32>, tensor<2x2x4x16xf32>, tensor<2x2x4x16xf32>)
  return
}

// -----

// Tests that swiglu_grad's operands and results share one type.
func.func @f(%g: tensor<2x8xf32>) {
  // expected-error @+1 {{all of {gate, up, grad_output, grad_gate, grad_up} have same type}}
  %dg, %du = "off.swiglu_grad"(%g, %g, %g) : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x4xf32>)
  return
}

// -----

// Tests that embedding_grad's output gradient is ids.shape + [C].
func.func @f(%ids: tensor<2x8xi32>, %dy: tensor<2x7x64xf32>) {
  // expected-error @+2 {{grad_output must be ids.shape + [C]}}
  // expected-error @+1 {{failed to infer returned types}}
  %dt = off.embedding_grad %ids, %dy {vocab_size = 256 : i64}
      : (tensor<2x8xi32>, tensor<2x7x64xf32>) -> tensor<256x64xf32>
  return
}

// -----

// Tests that embedding_grad needs a positive vocabulary.
func.func @f(%ids: tensor<2x8xi32>, %dy: tensor<2x8x64xf32>) {
  // expected-error @+2 {{vocab_size must be >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %dt = off.embedding_grad %ids, %dy {vocab_size = 0 : i64}
      : (tensor<2x8xi32>, tensor<2x8x64xf32>) -> tensor<0x64xf32>
  return
}

// -----

// Tests that cross_entropy_grad checks the forward shapes.
func.func @f(%l: tensor<2x8x256xf32>, %t: tensor<2x7xi32>, %d: tensor<f32>) {
  // expected-error @+2 {{targets must be [...] where logits are [..., V]}}
  // expected-error @+1 {{failed to infer returned types}}
  %dl = off.cross_entropy_grad %l, %t, %d
      : (tensor<2x8x256xf32>, tensor<2x7xi32>, tensor<f32>) -> tensor<2x8x256xf32>
  return
}

// -----

// Tests that cross_entropy_grad's loss gradient has the logits' element type.
func.func @f(%l: tensor<2x8x256xf32>, %t: tensor<2x8xi32>, %d: tensor<bf16>) {
  // expected-error @+2 {{logits and grad_loss must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %dl = off.cross_entropy_grad %l, %t, %d
      : (tensor<2x8x256xf32>, tensor<2x8xi32>, tensor<bf16>) -> tensor<2x8x256xf32>
  return
}

// -----

// Tests that softmax_grad's axis is in range.
func.func @f(%y: tensor<4x8xf32>) {
  // expected-error @+1 {{axis 2 out of range}}
  %dx = off.softmax_grad %y, %y {axis = 2 : i64} : tensor<4x8xf32>
  return
}

// -----

// Tests that broadcast_to follows NumPy's rules.
func.func @f(%x: tensor<4x2xf32>) {
  // expected-error @+1 {{cannot broadcast 'tensor<4x2xf32>' to 'tensor<4x8xf32>'}}
  %y = off.broadcast_to %x : tensor<4x2xf32> to tensor<4x8xf32>
  return
}

// -----

// Tests that broadcast_to only grows a shape.
func.func @f(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{cannot broadcast 'tensor<4x8xf32>' to 'tensor<8xf32>'}}
  %y = off.broadcast_to %x : tensor<4x8xf32> to tensor<8xf32>
  return
}

// -----

// Tests that slice_grad's operand is the slice of its result type.
func.func @f(%dy: tensor<2x4xf32>) {
  // expected-error @+1 {{grad_output 'tensor<2x4xf32>' is not the slice 'tensor<2x8xf32>' of the result type}}
  %dx = off.slice_grad %dy {axis = 1 : i64, start = 8 : i64, end = 16 : i64}
      : tensor<2x4xf32> to tensor<2x16xf32>
  return
}

// -----

// Tests that slice_grad checks the slice bounds against its result type.
func.func @f(%dy: tensor<2x8xf32>) {
  // expected-error @+1 {{needs 0 <= start <= end <= 12}}
  %dx = off.slice_grad %dy {axis = 1 : i64, start = 8 : i64, end = 16 : i64}
      : tensor<2x8xf32> to tensor<2x12xf32>
  return
}

// -----

// Tests that gather_grad's operand matches gathering from its result type.
func.func @f(%i: tensor<3xi64>, %dy: tensor<2x4xf32>) {
  // expected-error @+1 {{grad_output 'tensor<2x4xf32>' is not what gathering from 'tensor<10x4xf32>' gives: 'tensor<3x4xf32>'}}
  %dd = off.gather_grad %i, %dy {axis = 0 : i64} : (tensor<3xi64>, tensor<2x4xf32>) -> tensor<10x4xf32>
  return
}

// -----

// Tests that global_norm needs a tensor.
func.func @f() {
  // expected-error @+1 {{needs at least one tensor}}
  %n = "off.global_norm"() : () -> tensor<f32>
  return
}

// -----

// Tests that adam_step needs a positive learning rate.
func.func @f(%p: tensor<4xf32>) {
  // expected-error @+1 {{lr and eps must be positive}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p {lr = 0.0 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

// Tests that adam_step's betas are in [0, 1).
func.func @f(%p: tensor<4xf32>) {
  // expected-error @+1 {{betas must be in [0, 1)}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p {lr = 1.0e-03 : f64, beta1 = 1.0 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

// Tests that adam_step's weight decay is not negative.
func.func @f(%p: tensor<4xf32>) {
  // expected-error @+1 {{weight_decay must be >= 0}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = -0.1 : f64} : tensor<4xf32>
  return
}

// -----

// Tests that clipping in adam_step needs the global norm.
func.func @f(%p: tensor<4xf32>) {
  // expected-error @+1 {{max_grad_norm needs the norm operand}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64,
      max_grad_norm = 1.0 : f64} : tensor<4xf32>
  return
}

// -----

// Tests that adam_step's clipping threshold is positive.
func.func @f(%p: tensor<4xf32>, %n: tensor<f32>) {
  // expected-error @+1 {{max_grad_norm must be positive}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p, %n {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64,
      max_grad_norm = 0.0 : f64} : tensor<4xf32>, tensor<f32>
  return
}

// -----

// Tests that adam_step's state has the parameter's type.
func.func @f(%p: tensor<4xf32>, %m: tensor<8xf32>) {
  // expected-error @+1 {{all of {param, exp_avg, exp_avg_sq, new_param, new_exp_avg, new_exp_avg_sq} have same type}}
  %a, %b, %c = "off.adam_step"(%p, %p, %m, %p) <{lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}>
      : (tensor<4xf32>, tensor<4xf32>, tensor<8xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// Tests that adam_step's gradient has the parameter's shape.
func.func @f(%p: tensor<4xf32>, %g: tensor<8xbf16>) {
  // expected-error @+1 {{grad must have the param's shape}}
  %a, %b, %c = off.adam_step %p, %g, %p, %p {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64}
      : tensor<4xf32>, grad tensor<8xbf16>
  return
}

// -----

// Tests that adam_step's compute copy has the parameter's shape.
func.func @f(%p: tensor<4xf32>, %k: tensor<2x2xbf16>) {
  // expected-error @+1 {{the compute copy must have the param's shape}}
  %a:4 = off.adam_step %p, %p, %p, %p copy %k {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64}
      : tensor<4xf32>, copy tensor<2x2xbf16>
  return
}

// -----

// Tests that a copy operand comes with its type.
func.func @f(%p: tensor<4xf32>, %k: tensor<4xbf16>) {
  // expected-error @+1 {{a copy operand and a 'copy TYPE' go together}}
  %a:4 = off.adam_step %p, %p, %p, %p copy %k {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

// Tests that a compute copy result needs the copy operand.
func.func @f(%p: tensor<4xf32>) {
  // expected-error @+1 {{a new_compute_copy result needs a compute copy operand}}
  %a:4 = "off.adam_step"(%p, %p, %p, %p) <{lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64,
      operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}>
      : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>)
  return
}

// -----

// Tests that norm_partial has one f64 per block of 65536 elements.
func.func @f(%g: tensor<65537xf32>) {
  // expected-error @+1 {{needs one f64 per block of 65536 elements: 65537 elements make 2, the result has 1}}
  %p = off.norm_partial %g : tensor<65537xf32> -> tensor<1xf64>
  return
}

// -----

// Tests that norm_partial's sums are f64.
func.func @f(%g: tensor<8xf32>) {
  // expected-error @+1 {{must be 1D tensor of 64-bit float values}}
  %p = "off.norm_partial"(%g) : (tensor<8xf32>) -> tensor<1xf32>
  return
}

// -----

// Tests that norm_combine needs a partial.
func.func @f() {
  // expected-error @+1 {{needs at least one partial}}
  %n = "off.norm_combine"() : () -> tensor<f32>
  return
}
