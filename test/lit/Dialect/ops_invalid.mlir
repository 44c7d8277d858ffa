// RUN: off-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of the off dialect, one case each.

// Tests that param needs a non-empty name.
func.func @f() {
  // expected-error @+1 {{needs a non-empty name}}
  %w = off.param "" : tensor<4xf32>
  return
}

// -----

// Tests that param needs a static shape.
func.func @f() {
  // expected-error @+1 {{must be statically shaped tensor}}
  %w = off.param "w" : tensor<?xf32>
  return
}

// -----

// Tests that constant needs a tensor value.
func.func @f() {
  // expected-error @+1 {{value must be a statically shaped tensor}}
  %c = off.constant dense<1.0> : vector<2xf32>
  return
}

// -----

// Tests that matmul needs rank >= 2.
func.func @f(%a: tensor<3xf32>, %b: tensor<3x4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{operands must have rank >= 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.matmul %a, %b : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that matmul needs equal contraction dims.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{contraction dimensions differ: 3 vs 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests that matmul transpose flags change the contraction dim.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{contraction dimensions differ: 3 vs 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.matmul %a, %b {transpose_rhs = true} : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that matmul batch dims must broadcast.
func.func @f(%a: tensor<2x4x3xf32>, %b: tensor<3x3x5xf32>) -> tensor<2x4x5xf32> {
  // expected-error @+2 {{batch dimensions do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.matmul %a, %b : (tensor<2x4x3xf32>, tensor<3x3x5xf32>) -> tensor<2x4x5xf32>
  return %y : tensor<2x4x5xf32>
}

// -----

// Tests that matmul operands share an element type.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x5xbf16>) -> tensor<2x5xf32> {
  // expected-error @+2 {{operands must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xbf16>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests that matmul is floating point only.
func.func @f(%a: tensor<2x3xi32>, %b: tensor<3x5xi32>) -> tensor<2x5xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.matmul %a, %b : (tensor<2x3xi32>, tensor<3x5xi32>) -> tensor<2x5xi32>
  return %y : tensor<2x5xi32>
}

// -----

// Tests that the declared result type must equal the inferred one.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x5xf32>' are incompatible with return type(s) of operation 'tensor<2x6xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x6xf32>
  return %y : tensor<2x6xf32>
}

// -----

// Tests that add shapes must broadcast.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{operand shapes do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that sub shapes must broadcast.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{operand shapes do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.sub %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that mul shapes must broadcast.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{operand shapes do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.mul %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that div shapes must broadcast.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{operand shapes do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.div %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that add operands share an element type.
func.func @f(%a: tensor<3xf32>, %b: tensor<3xf16>) -> tensor<3xf32> {
  // expected-error @+2 {{operands must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.add %a, %b : (tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return %y : tensor<3xf32>
}

// -----

// Tests that neg is floating point only.
func.func @f(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.neg %a : tensor<3xi32>
  return %y : tensor<3xi32>
}

// -----

// Tests that exp is floating point only.
func.func @f(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.exp %a : tensor<3xi32>
  return %y : tensor<3xi32>
}

// -----

// Tests that sqrt is floating point only.
func.func @f(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.sqrt %a : tensor<3xi32>
  return %y : tensor<3xi32>
}

// -----

// Tests that rsqrt is floating point only.
func.func @f(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.rsqrt %a : tensor<3xi32>
  return %y : tensor<3xi32>
}

// -----

// Tests that silu is floating point only.
func.func @f(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.silu %a : tensor<3xi32>
  return %y : tensor<3xi32>
}

// -----

// Tests that sigmoid is floating point only.
func.func @f(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %y = off.sigmoid %a : tensor<3xi32>
  return %y : tensor<3xi32>
}

// -----

// Tests that cast keeps the shape.
func.func @f(%a: tensor<3xf32>) -> tensor<4xbf16> {
  // expected-error @+1 {{must not change the shape}}
  %y = off.cast %a : tensor<3xf32> to tensor<4xbf16>
  return %y : tensor<4xbf16>
}

// -----

// Tests that reshape keeps the element count.
func.func @f(%a: tensor<2x3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{must keep the number of elements (6 vs 8)}}
  %y = off.reshape %a : tensor<2x3xf32> to tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Tests that reshape keeps the element type.
func.func @f(%a: tensor<2x3xf32>) -> tensor<6xf16> {
  // expected-error @+1 {{must keep the element type}}
  %y = off.reshape %a : tensor<2x3xf32> to tensor<6xf16>
  return %y : tensor<6xf16>
}

// -----

// Tests that transpose perm must be a permutation.
func.func @f(%a: tensor<2x3x4xf32>) -> tensor<2x3x3xf32> {
  // expected-error @+2 {{perm must be a permutation of 0..2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.transpose %a {perm = array<i64: 0, 1, 1>} : (tensor<2x3x4xf32>) -> tensor<2x3x3xf32>
  return %y : tensor<2x3x3xf32>
}

// -----

// Tests that transpose perm length equals rank.
func.func @f(%a: tensor<2x3x4xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{perm must be a permutation of 0..2}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.transpose %a {perm = array<i64: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Tests that slice axis in range.
func.func @f(%a: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+2 {{axis 2 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.slice %a {axis = 2 : i64, start = 0 : i64, end = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Tests that slice step >= 1.
func.func @f(%a: tensor<2x8xf32>) -> tensor<2x4xf32> {
  // expected-error @+2 {{step must be >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.slice %a {axis = 1 : i64, start = 0 : i64, end = 4 : i64, step = 0 : i64} : (tensor<2x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Tests that slice start <= end.
func.func @f(%a: tensor<2x8xf32>) -> tensor<2x0xf32> {
  // expected-error @+2 {{needs 0 <= start <= end <= 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.slice %a {axis = 1 : i64, start = 5 : i64, end = 4 : i64} : (tensor<2x8xf32>) -> tensor<2x0xf32>
  return %y : tensor<2x0xf32>
}

// -----

// Tests that slice end within the dimension.
func.func @f(%a: tensor<2x8xf32>) -> tensor<2x9xf32> {
  // expected-error @+2 {{needs 0 <= start <= end <= 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.slice %a {axis = 1 : i64, start = 0 : i64, end = 9 : i64} : (tensor<2x8xf32>) -> tensor<2x9xf32>
  return %y : tensor<2x9xf32>
}

// -----

// Tests that slice start non-negative.
func.func @f(%a: tensor<2x8xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{needs 0 <= start <= end <= 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.slice %a {axis = 1 : i64, start = -1 : i64, end = 2 : i64} : (tensor<2x8xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that concat needs an input.
func.func @f() -> tensor<2xf32> {
  // expected-error @+2 {{needs at least one input}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.concat {axis = 0 : i64} : () -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// Tests that concat axis in range.
func.func @f(%a: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{axis 1 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.concat %a, %a {axis = 1 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that concat inputs share the rank.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{inputs must have the same rank}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Tests that concat inputs agree off the axis.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{inputs differ in dimension 1, which is not the concat axis}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Tests that concat inputs share an element type.
func.func @f(%a: tensor<2xf32>, %b: tensor<2xf16>) -> tensor<4xf32> {
  // expected-error @+2 {{inputs must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf16>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that gather axis in range.
func.func @f(%a: tensor<4x5xf32>, %i: tensor<3xi64>) -> tensor<3x5xf32> {
  // expected-error @+2 {{axis 2 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.gather %a, %i {axis = 2 : i64} : (tensor<4x5xf32>, tensor<3xi64>) -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}

// -----

// Tests that gather indices are integers.
func.func @f(%a: tensor<4x5xf32>, %i: tensor<3xf32>) -> tensor<3x5xf32> {
  // expected-error @+1 {{must be ranked tensor of signless integer values}}
  %y = off.gather %a, %i {axis = 0 : i64} : (tensor<4x5xf32>, tensor<3xf32>) -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}

// -----

// Tests that reduce_sum axes in range.
func.func @f(%a: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{axis 3 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.reduce_sum %a {axes = array<i64: 3>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// Tests that reduce_mean axes in range.
func.func @f(%a: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{axis 3 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.reduce_mean %a {axes = array<i64: 3>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// Tests that reduce_max axes in range.
func.func @f(%a: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{axis 3 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.reduce_max %a {axes = array<i64: 3>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// Tests that reduce axes are distinct.
func.func @f(%a: tensor<2x3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+2 {{axis 1 repeated}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.reduce_sum %a {axes = array<i64: 1, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Tests that softmax axis in range.
func.func @f(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 out of range}}
  %y = off.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that rms_norm weight matches the last dim.
func.func @f(%a: tensor<2x64xf32>, %w: tensor<32xf32>) -> tensor<2x64xf32> {
  // expected-error @+2 {{weight must be [C] where input is [..., C]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rms_norm %a, %w {eps = 1.0e-05 : f64} : (tensor<2x64xf32>, tensor<32xf32>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

// Tests that rms_norm weight is rank 1.
func.func @f(%a: tensor<2x64xf32>, %w: tensor<1x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+2 {{weight must be [C] where input is [..., C]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rms_norm %a, %w {eps = 1.0e-05 : f64} : (tensor<2x64xf32>, tensor<1x64xf32>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

// Tests that rms_norm input has rank >= 1.
func.func @f(%a: tensor<f32>, %w: tensor<1xf32>) -> tensor<f32> {
  // expected-error @+2 {{input must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rms_norm %a, %w {eps = 1.0e-05 : f64} : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

// Tests that rms_norm input and weight share an element type.
func.func @f(%a: tensor<2x64xf32>, %w: tensor<64xbf16>) -> tensor<2x64xf32> {
  // expected-error @+2 {{input and weight must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rms_norm %a, %w {eps = 1.0e-05 : f64} : (tensor<2x64xf32>, tensor<64xbf16>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

// Tests that rms_norm eps is positive.
func.func @f(%a: tensor<2x64xf32>, %w: tensor<64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{eps must be positive}}
  %y = off.rms_norm %a, %w {eps = 0.0 : f64} : (tensor<2x64xf32>, tensor<64xf32>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

// Tests that rope input is [B, H, T, D].
func.func @f(%a: tensor<4x8x16xf32>, %c: tensor<8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{input must be [B, H, T, D]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rope %a, %c, %c : (tensor<4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<4x8x16xf32>
  return %y : tensor<4x8x16xf32>
}

// -----

// Tests that rope head dim is even.
func.func @f(%a: tensor<2x4x8x15xf32>, %c: tensor<8x15xf32>) -> tensor<2x4x8x15xf32> {
  // expected-error @+2 {{head dimension must be even}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rope %a, %c, %c : (tensor<2x4x8x15xf32>, tensor<8x15xf32>, tensor<8x15xf32>) -> tensor<2x4x8x15xf32>
  return %y : tensor<2x4x8x15xf32>
}

// -----

// Tests that rope tables are [T, D].
func.func @f(%a: tensor<2x4x8x16xf32>, %c: tensor<8x16xf32>, %s: tensor<16x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{cos and sin must be [T, D] = [8, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rope %a, %c, %s : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that rope tables share the element type.
func.func @f(%a: tensor<2x4x8x16xf32>, %c: tensor<8x16xbf16>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{input and tables must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.rope %a, %c, %c : (tensor<2x4x8x16xf32>, tensor<8x16xbf16>, tensor<8x16xbf16>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that attention operands are rank 4.
func.func @f(%q: tensor<4x8x16xf32>, %k: tensor<2x4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{query, key and value must be [B, heads, seq, dim]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %k : (tensor<4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<4x8x16xf32>
  return %y : tensor<4x8x16xf32>
}

// -----

// Tests that attention operands share batch.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<3x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{query, key and value differ in batch size}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %k : (tensor<2x4x8x16xf32>, tensor<3x4x8x16xf32>, tensor<3x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that attention key and value agree.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x9x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{key and value differ in heads or sequence}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %v : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x9x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that attention query heads are a multiple of kv heads.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x3x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{query heads (4) must be a multiple of key/value heads (3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %k : (tensor<2x4x8x16xf32>, tensor<2x3x8x16xf32>, tensor<2x3x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that attention query and key share the head dim.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+2 {{query and key differ in head dimension}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %k : (tensor<2x4x8x16xf32>, tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %y : tensor<2x4x8x8xf32>
}

// -----

// Tests that causal attention needs T <= S.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x4x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{causal attention needs query length <= key length}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %k {causal} : (tensor<2x4x8x16xf32>, tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that attention operands share the element type.
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xbf16>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{query, key and value must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.attention %q, %k, %k : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xbf16>, tensor<2x4x8x16xbf16>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

// Tests that swiglu operands have one type.
func.func @f(%g: tensor<2x8xf32>, %u: tensor<2x4xf32>) -> tensor<2x8xf32> {
  // expected-note @-1 {{prior use here}}
  // expected-error @+1 {{use of value '%u' expects different type than prior uses: 'tensor<2x8xf32>' vs 'tensor<2x4xf32>'}}
  %y = off.swiglu %g, %u : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Tests that embedding table is [V, C].
func.func @f(%t: tensor<256xf32>, %i: tensor<2x8xi32>) -> tensor<2x8xf32> {
  // expected-error @+2 {{table must be [V, C]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.embedding %t, %i : (tensor<256xf32>, tensor<2x8xi32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Tests that embedding ids are integers.
func.func @f(%t: tensor<256x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{must be ranked tensor of signless integer values}}
  %y = off.embedding %t, %i : (tensor<256x4xf32>, tensor<2x8xf32>) -> tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}

// -----

// Tests that cross_entropy targets match the logits' leading shape.
func.func @f(%l: tensor<2x8x256xf32>, %t: tensor<2x7xi32>) -> tensor<f32> {
  // expected-error @+2 {{targets must be [...] where logits are [..., V]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.cross_entropy %l, %t : (tensor<2x8x256xf32>, tensor<2x7xi32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

// Tests that offload moves to a slower tier.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{moves to a slower tier, not from host to device}}
  %h, %t = off.offload %x from <host> to <device> : tensor<4xf32>
  return
}

// -----

// Tests that offload needs two different tiers.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{moves to a slower tier, not from host to host}}
  %h, %t = off.offload %x from <host> to <host> : tensor<4xf32>
  return
}

// -----

// Tests that prefetch moves to a faster tier.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{moves to a faster tier, not from device to nvme}}
  %h, %t = off.prefetch %x from <device> to <nvme> : tensor<4xf32>
  return
}

// -----

// Tests that wait needs a token.
func.func @f() {
  // expected-error @+1 {{needs at least one token}}
  off.wait
  return
}

// -----

// Tests that a freed value is not used afterwards.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{frees a value that is used afterwards}}
  off.free %x from <device> : tensor<4xf32>
  // expected-note @+1 {{used here}}
  %y = off.neg %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that recompute yields its result types.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{region must yield the result types}}
  %r = off.recompute -> tensor<4xf32> {
    %y = off.reshape %x : tensor<4xf32> to tensor<2x2xf32>
    off.yield %y : tensor<2x2xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// Tests that yield lives in a recompute region.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{expects parent op 'off.recompute'}}
  off.yield %x : tensor<4xf32>
}

// -----

// Tests that all_gather needs ranks >= 1.
func.func @f(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{ranks must be >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.all_gather %a {axis = 0 : i64, ranks = 0 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

// Tests that all_gather axis in range.
func.func @f(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{axis 2 out of range}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.all_gather %a {axis = 2 : i64, ranks = 2 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

// Tests that reduce_scatter divides the axis.
func.func @f(%a: tensor<6x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+2 {{dimension 0 (6) is not divisible by ranks (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = off.reduce_scatter %a {axis = 0 : i64, ranks = 4 : i64} : (tensor<6x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Tests that state needs a non-empty name.
func.func @f() {
  // expected-error @+1 {{needs a non-empty name}}
  %m = off.state "" : tensor<4xf32>
  return
}

// -----

// Tests that state needs a static shape.
func.func @f() {
  // expected-error @+1 {{must be statically shaped tensor}}
  %m = off.state "m" : tensor<?xf32>
  return
}

// -----

// Tests that a kernel refuses an operand that is not on the device.
func.func @f(%x: tensor<4xf32, #off.tier<host>>) -> tensor<4xf32> {
  // expected-error @+1 {{reads operand #0 in the host tier; kernels read and write the device tier only (prefetch it first)}}
  %y = "off.neg"(%x) : (tensor<4xf32, #off.tier<host>>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that a kernel refuses a result that is not on the device.
func.func @f(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32, #off.tier<nvme>> {
  // expected-error @+1 {{writes result #0 in the nvme tier; kernels read and write the device tier only}}
  %y = "off.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32, #off.tier<nvme>>
  return %y : tensor<4xf32, #off.tier<nvme>>
}

// -----

// Tests that a transfer's source tier is the tier of its input's type.
func.func @f(%x: tensor<4xf32, #off.tier<host>>) {
  // expected-error @+1 {{moves from the device tier a value whose type is in the host tier}}
  %h, %t = off.offload %x from <device> to <nvme> : tensor<4xf32, #off.tier<host>>
  return
}

// -----

// Tests that a transfer's result type is in its destination tier.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{moves to the host tier but its result type is in the device tier}}
  %h, %t = "off.offload"(%x) <{from = #off.tier<device>, to = #off.tier<host>, operandSegmentSizes = array<i32: 1, 0>}> : (tensor<4xf32>) -> (tensor<4xf32>, !off.token)
  return
}

// -----

// Tests that a write-back lands in a value of the result's type.
func.func @f(%x: tensor<4xf32, #off.tier<host>>) {
  %w = off.param "w" : tensor<4xf32, #off.tier<host>>
  // expected-error @+1 {{writes into a value of type 'tensor<4xf32, #off.tier<host>>', not the result type 'tensor<4xf32>'}}
  %d, %t = off.prefetch %x into %w from <host> to <device> : tensor<4xf32, #off.tier<host>> into tensor<4xf32, #off.tier<host>>
  return
}

// -----

// Tests that only params and optimizer states are written in place.
func.func @f(%x: tensor<4xf32, #off.tier<host>>, %y: tensor<4xf32>) {
  // expected-error @+1 {{writes into a value that is not an off.param or off.state}}
  %d, %t = off.prefetch %x into %y from <host> to <device> : tensor<4xf32, #off.tier<host>> into tensor<4xf32>
  return
}

// -----

// Tests that free names the tier of the freed value's type.
func.func @f(%x: tensor<4xf32, #off.tier<host>>) {
  // expected-error @+1 {{frees from the device tier a value whose type is in the host tier}}
  off.free %x from <device> : tensor<4xf32, #off.tier<host>>
  return
}

// -----

// Tests that adam_step keeps all its tensors in one tier.
func.func @f(%p: tensor<4xf32>, %g: tensor<4xf32, #off.tier<host>>) {
  // expected-error @+1 {{'off.adam_step' op mixes the device and host tiers; all its tensors must be in one tier}}
  %a, %b, %c = "off.adam_step"(%p, %g, %p, %p) <{lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64,
      operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}>
      : (tensor<4xf32>, tensor<4xf32, #off.tier<host>>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// Tests that adam_step's norm is in the tier of its tensors.
func.func @f(%p: tensor<4xf32, #off.tier<host>>, %n: tensor<f32>) {
  // expected-error @+1 {{mixes the host and device tiers; all its tensors must be in one tier}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p, %n {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64}
      : tensor<4xf32, #off.tier<host>>, tensor<f32>
  return
}

// -----

// Tests that adam_step does not run on NVMe tensors.
func.func @f(%p: tensor<4xf32, #off.tier<nvme>>) {
  // expected-error @+1 {{cannot run on nvme-tier tensors (stage them in the host tier)}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64}
      : tensor<4xf32, #off.tier<nvme>>
  return
}

// -----

// Tests that off.stream holds a stream.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'off.stream' must be a #off.stream attribute}}
  %y = off.neg %x {off.stream = 1 : i64} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that kernels run on the compute stream.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'off.neg' runs on the compute stream, not h2d}}
  %y = off.neg %x {off.stream = #off.stream<h2d>} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that a transfer runs on the stream of its direction.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{'off.offload' runs on the d2h stream, not h2d}}
  %h, %t = off.offload %x from <device> to <host> {off.stream = #off.stream<h2d>} : tensor<4xf32>
  return
}

// -----

// Tests that no stream moves between tiers that are not adjacent.
func.func @f(%x: tensor<4xf32>) {
  // expected-error @+1 {{moves from device to nvme, which no stream does (transfers go between adjacent tiers)}}
  %h, %t = off.offload %x from <device> to <nvme> {off.stream = #off.stream<d2h>} : tensor<4xf32>
  return
}

// -----

// Tests that host AdamW runs on the host-optimizer stream.
func.func @f(%p: tensor<4xf32, #off.tier<host>>) {
  // expected-error @+1 {{'off.adam_step' runs on the host_optimizer stream, not compute}}
  %a, %b, %c = off.adam_step %p, %p, %p, %p {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64,
      off.stream = #off.stream<compute>} : tensor<4xf32, #off.tier<host>>
  return
}

// -----

// Tests that a compute copy is not trainable (its master is).
func.func @f() {
  // expected-error @+1 {{a compute copy (copy_of) is not trainable: its master is}}
  %c = off.param "w.bf16" {copy_of = "w", trainable} : tensor<4xbf16>
  return
}

// -----

// Tests that a compute copy has a name of its own.
func.func @f() {
  // expected-error @+1 {{a compute copy needs a name of its own, not its master's 'w'}}
  %c = off.param "w" {copy_of = "w"} : tensor<4xbf16>
  return
}

// -----

// Tests that a compute copy names its master.
func.func @f() {
  // expected-error @+1 {{copy_of must name the master param}}
  %c = off.param "w.bf16" {copy_of = ""} : tensor<4xbf16>
  return
}

// -----

// Tests that a compute copy holds floats.
func.func @f() {
  // expected-error @+1 {{a compute copy must have a float element type}}
  %c = off.param "w.i32" {copy_of = "w"} : tensor<4xi32>
  return
}
