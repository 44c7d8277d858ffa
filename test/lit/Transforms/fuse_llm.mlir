// RUN: off-opt --split-input-file --off-fuse-llm %s | FileCheck %s

// Each pattern has a positive case and near misses that compute something
// else (or might) and must stay generic.

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

// Tests the form Llama's RMSNorm exports to: w * (x * rsqrt(mean(x*x) + eps)).
// CHECK-LABEL: func.func @rms_norm_rsqrt
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x8xf32>, %[[W:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.+]] = off.rms_norm %[[X]], %[[W]] {eps = 1.000000e-05 : f64} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT: return %[[Y]]
func.func @rms_norm_rsqrt(%x: tensor<2x3x8xf32>, %w: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %sq = off.mul %x, %x : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 2>, keepdims = true} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %eps = off.constant dense<9.99999974E-6> : tensor<f32>
  %e = off.add %m, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %r = off.rsqrt %e : tensor<2x3x1xf32>
  %n = off.mul %x, %r : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// Tests the dynamo exporter's form, x * (1 / sqrt(eps + mean)) with the
// weight on the right and eps on the left of the add (f32 1e-6 becomes the
// f64 nearest 1e-6, which MLIR prints as 9.9999999999999995E-7).
// CHECK-LABEL: func.func @rms_norm_reciprocal_sqrt
// CHECK-SAME: (%[[X:.+]]: tensor<3x8xf32>, %[[W:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.+]] = off.rms_norm %[[X]], %[[W]] {eps = 9.9999999999999995E-7 : f64}
// CHECK-NEXT: return %[[Y]]
func.func @rms_norm_reciprocal_sqrt(%x: tensor<3x8xf32>, %w: tensor<8xf32>) -> tensor<3x8xf32> {
  %sq = off.mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %eps = off.constant dense<9.99999997E-7> : tensor<f32>
  %e = off.add %eps, %m : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %s = off.sqrt %e : tensor<3x1xf32>
  %one = off.constant dense<1.0> : tensor<f32>
  %r = off.div %one, %s : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %n = off.mul %r, %x : (tensor<3x1xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %y = off.mul %n, %w : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Tests x / sqrt(mean + eps) * w.
// CHECK-LABEL: func.func @rms_norm_divide
// CHECK-NEXT: off.rms_norm
// CHECK-NEXT: return
func.func @rms_norm_divide(%x: tensor<3x8xf32>, %w: tensor<8xf32>) -> tensor<3x8xf32> {
  %sq = off.mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %eps = off.constant dense<1.0e-5> : tensor<1xf32>
  %e = off.add %m, %eps : (tensor<3x1xf32>, tensor<1xf32>) -> tensor<3x1xf32>
  %s = off.sqrt %e : tensor<3x1xf32>
  %n = off.div %x, %s : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Tests a near miss: eps added after the rsqrt (rsqrt(mean) + eps) is
// another function; nothing fuses.
// CHECK-LABEL: func.func @rms_norm_eps_after_rsqrt
// CHECK-NOT: off.rms_norm
// CHECK: off.rsqrt
// CHECK: off.add
// CHECK-NOT: off.rms_norm
func.func @rms_norm_eps_after_rsqrt(%x: tensor<3x8xf32>, %w: tensor<8xf32>) -> tensor<3x8xf32> {
  %sq = off.mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %r = off.rsqrt %m : tensor<3x1xf32>
  %eps = off.constant dense<1.0e-5> : tensor<f32>
  %e = off.add %r, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %n = off.mul %x, %e : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Tests a near miss: the mean runs over the first axis, not the channels.
// CHECK-LABEL: func.func @rms_norm_wrong_axis
// CHECK-NOT: off.rms_norm
// CHECK: off.reduce_mean
func.func @rms_norm_wrong_axis(%x: tensor<8x8xf32>, %w: tensor<8xf32>) -> tensor<8x8xf32> {
  %sq = off.mul %x, %x : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 0>, keepdims = true} : (tensor<8x8xf32>) -> tensor<1x8xf32>
  %eps = off.constant dense<1.0e-5> : tensor<f32>
  %e = off.add %m, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %r = off.rsqrt %e : tensor<1x8xf32>
  %n = off.mul %x, %r : (tensor<8x8xf32>, tensor<1x8xf32>) -> tensor<8x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

// Tests a near miss: the statistics come from another tensor than the one
// normalised.
// CHECK-LABEL: func.func @rms_norm_other_input
// CHECK-NOT: off.rms_norm
// CHECK: off.rsqrt
func.func @rms_norm_other_input(%x: tensor<3x8xf32>, %z: tensor<3x8xf32>, %w: tensor<8xf32>) -> tensor<3x8xf32> {
  %sq = off.mul %z, %z : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %eps = off.constant dense<1.0e-5> : tensor<f32>
  %e = off.add %m, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %r = off.rsqrt %e : tensor<3x1xf32>
  %n = off.mul %x, %r : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Tests near misses on eps: computed from the input (not a constant), and a
// negative constant.
// CHECK-LABEL: func.func @rms_norm_eps_not_constant
// CHECK-NOT: off.rms_norm
// CHECK-LABEL: func.func @rms_norm_eps_negative
// CHECK-NOT: off.rms_norm
// CHECK: return
func.func @rms_norm_eps_not_constant(%x: tensor<3x8xf32>, %w: tensor<8xf32>, %eps: tensor<f32>) -> tensor<3x8xf32> {
  %sq = off.mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %e = off.add %m, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %r = off.rsqrt %e : tensor<3x1xf32>
  %n = off.mul %x, %r : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
func.func @rms_norm_eps_negative(%x: tensor<3x8xf32>, %w: tensor<8xf32>) -> tensor<3x8xf32> {
  %sq = off.mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %eps = off.constant dense<-1.0e-5> : tensor<f32>
  %e = off.add %m, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %r = off.rsqrt %e : tensor<3x1xf32>
  %n = off.mul %x, %r : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %y = off.mul %w, %n : (tensor<8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Tests a near miss: a weight over the rows ([3, 1]) instead of the channels.
// CHECK-LABEL: func.func @rms_norm_weight_not_channels
// CHECK-NOT: off.rms_norm
// CHECK: return
func.func @rms_norm_weight_not_channels(%x: tensor<3x8xf32>, %w: tensor<3x1xf32>) -> tensor<3x8xf32> {
  %sq = off.mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %m = off.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %eps = off.constant dense<1.0e-5> : tensor<f32>
  %e = off.add %m, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %r = off.rsqrt %e : tensor<3x1xf32>
  %n = off.mul %x, %r : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %y = off.mul %w, %n : (tensor<3x1xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

//===----------------------------------------------------------------------===//
// silu, swiglu
//===----------------------------------------------------------------------===//

// -----

// Tests Llama's MLP activation: up * (gate * sigmoid(gate)) is swiglu with
// the gate first, whichever side of the product each stands.
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[G:.+]]: tensor<2x5xf32>, %[[U:.+]]: tensor<2x5xf32>)
// CHECK-NEXT: %[[Y:.+]] = off.swiglu %[[G]], %[[U]] : tensor<2x5xf32>
// CHECK-NEXT: return %[[Y]]
func.func @swiglu(%g: tensor<2x5xf32>, %u: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %s = off.sigmoid %g : tensor<2x5xf32>
  %a = off.mul %s, %g : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  %y = off.mul %u, %a : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests that gate and up keep their roles when silu is applied to the
// second operand of the product: silu(%u) * %g is swiglu(%u, %g).
// CHECK-LABEL: func.func @swiglu_roles
// CHECK-SAME: (%[[G:.+]]: tensor<2x5xf32>, %[[U:.+]]: tensor<2x5xf32>)
// CHECK-NEXT: %[[Y:.+]] = off.swiglu %[[U]], %[[G]] : tensor<2x5xf32>
func.func @swiglu_roles(%g: tensor<2x5xf32>, %u: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %s = off.sigmoid %u : tensor<2x5xf32>
  %a = off.mul %u, %s : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  %y = off.mul %g, %a : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests a near miss: sigmoid of the up projection times the gate (gate and
// up swapped inside the silu) is no silu, so nothing fuses.
// CHECK-LABEL: func.func @swiglu_swapped_gate_up
// CHECK-SAME: (%[[G:.+]]: tensor<2x5xf32>, %[[U:.+]]: tensor<2x5xf32>)
// CHECK-NEXT: %[[S:.+]] = off.sigmoid %[[U]]
// CHECK-NEXT: %[[A:.+]] = off.mul %[[G]], %[[S]]
// CHECK-NEXT: %[[Y:.+]] = off.mul %[[A]], %[[U]]
// CHECK-NEXT: return %[[Y]]
func.func @swiglu_swapped_gate_up(%g: tensor<2x5xf32>, %u: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %s = off.sigmoid %u : tensor<2x5xf32>
  %a = off.mul %g, %s : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  %y = off.mul %a, %u : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests a near miss: silu(g) times a broadcast [5] vector is a silu but no
// swiglu (the fused op takes two operands of one type).
// CHECK-LABEL: func.func @swiglu_broadcast_up
// CHECK-SAME: (%[[G:.+]]: tensor<2x5xf32>, %[[U:.+]]: tensor<5xf32>)
// CHECK-NEXT: %[[A:.+]] = off.silu %[[G]] : tensor<2x5xf32>
// CHECK-NEXT: %[[Y:.+]] = off.mul %[[U]], %[[A]]
// CHECK-NEXT: return %[[Y]]
func.func @swiglu_broadcast_up(%g: tensor<2x5xf32>, %u: tensor<5xf32>) -> tensor<2x5xf32> {
  %s = off.sigmoid %g : tensor<2x5xf32>
  %a = off.mul %g, %s : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  %y = off.mul %u, %a : (tensor<5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

//===----------------------------------------------------------------------===//
// embedding, matmul transposes
//===----------------------------------------------------------------------===//

// -----

// Tests that a row gather from a float [V, C] table is an embedding, and a
// gather along the channels is not.
// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[T:.+]]: tensor<16x4xf32>, %[[IDS:.+]]: tensor<2x3xi32>)
// CHECK-NEXT: %[[E:.+]] = off.embedding %[[T]], %[[IDS]] : (tensor<16x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: %[[G:.+]] = off.gather %[[T]], %[[IDS]] {axis = 1 : i64}
// CHECK-NEXT: return %[[E]], %[[G]]
func.func @embedding(%t: tensor<16x4xf32>, %ids: tensor<2x3xi32>) -> (tensor<2x3x4xf32>, tensor<16x2x3xf32>) {
  %e = off.gather %t, %ids {axis = 0 : i64} : (tensor<16x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
  %g = off.gather %t, %ids {axis = 1 : i64} : (tensor<16x4xf32>, tensor<2x3xi32>) -> tensor<16x2x3xf32>
  return %e, %g : tensor<2x3x4xf32>, tensor<16x2x3xf32>
}

// -----

// Tests a near miss: a gather from an integer table is an index lookup.
// CHECK-LABEL: func.func @embedding_integer_table
// CHECK-NOT: off.embedding
// CHECK: off.gather
func.func @embedding_integer_table(%t: tensor<16x4xi64>, %ids: tensor<2xi32>) -> tensor<2x4xi64> {
  %g = off.gather %t, %ids {axis = 0 : i64} : (tensor<16x4xi64>, tensor<2xi32>) -> tensor<2x4xi64>
  return %g : tensor<2x4xi64>
}

// -----

// Tests that a transpose of the last two dims of a matmul operand becomes
// the operand's flag (a pre-transposed Linear weight), while a transpose of
// other dims stays.
// CHECK-LABEL: func.func @matmul_transpose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>, %[[W:.+]]: tensor<5x4xf32>, %[[B:.+]]: tensor<3x2x4xf32>)
// CHECK-NEXT: %[[Y:.+]] = off.matmul %[[X]], %[[W]] {transpose_rhs = true} : (tensor<2x3x4xf32>, tensor<5x4xf32>) -> tensor<2x3x5xf32>
// CHECK-NEXT: %[[T:.+]] = off.transpose %[[B]] {perm = array<i64: 1, 0, 2>}
// CHECK-NEXT: %[[Z:.+]] = off.matmul %[[T]], %[[W]] {transpose_rhs = true}
// CHECK-NEXT: return %[[Y]], %[[Z]]
func.func @matmul_transpose(%x: tensor<2x3x4xf32>, %w: tensor<5x4xf32>, %b: tensor<3x2x4xf32>)
    -> (tensor<2x3x5xf32>, tensor<2x3x5xf32>) {
  %wt = off.transpose %w {perm = array<i64: 1, 0>} : (tensor<5x4xf32>) -> tensor<4x5xf32>
  %y = off.matmul %x, %wt : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %bt = off.transpose %b {perm = array<i64: 1, 0, 2>} : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
  %z = off.matmul %bt, %wt : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %y, %z : tensor<2x3x5xf32>, tensor<2x3x5xf32>
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

// -----

// Tests x * cos + rotate_half(x) * sin with [1, 1, T, D] tables (each
// frequency in both halves): they become shared [T, D] constants.
// CHECK-LABEL: func.func @rope
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x2x4xf32>, %[[K:.+]]: tensor<1x1x2x4xf32>)
// CHECK-DAG: %[[COS:.+]] = off.constant dense<{{\[\[}}1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [5.000000e-01, 7.500000e-01, 5.000000e-01, 7.500000e-01]]> : tensor<2x4xf32>
// CHECK-DAG: %[[SIN:.+]] = off.constant dense<{{\[\[}}0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [2.500000e-01, 1.250000e-01, 2.500000e-01, 1.250000e-01]]> : tensor<2x4xf32>
// CHECK: %[[Y:.+]] = off.rope %[[X]], %[[COS]], %[[SIN]] : (tensor<1x2x2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
// CHECK-NEXT: %[[Z:.+]] = off.rope %[[K]], %[[COS]], %[[SIN]] : (tensor<1x1x2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<1x1x2x4xf32>
// CHECK-NEXT: return %[[Y]], %[[Z]]
func.func @rope(%x: tensor<1x2x2x4xf32>, %k: tensor<1x1x2x4xf32>) -> (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) {
  %cos = off.constant dense<[[[[1.0, 1.0, 1.0, 1.0], [0.5, 0.75, 0.5, 0.75]]]]> : tensor<1x1x2x4xf32>
  %sin = off.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]]]]> : tensor<1x1x2x4xf32>
  %a = off.mul %x, %cos : (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x2x2x4xf32>
  %hi = off.slice %x {axis = 3 : i64, start = 2 : i64, end = 4 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %lo = off.slice %x {axis = 3 : i64, start = 0 : i64, end = 2 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %n = off.neg %hi : tensor<1x2x2x2xf32>
  %rot = off.concat %n, %lo {axis = 3 : i64} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x4xf32>
  %b = off.mul %rot, %sin : (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x2x2x4xf32>
  %y = off.add %a, %b : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  // The same for keys with one head, tables as [T, D].
  %cos2 = off.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.5, 0.75, 0.5, 0.75]]> : tensor<2x4xf32>
  %sin2 = off.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]]> : tensor<2x4xf32>
  %ka = off.mul %cos2, %k : (tensor<2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  %khi = off.slice %k {axis = 3 : i64, start = 2 : i64, end = 4 : i64} : (tensor<1x1x2x4xf32>) -> tensor<1x1x2x2xf32>
  %klo = off.slice %k {axis = 3 : i64, start = 0 : i64, end = 2 : i64} : (tensor<1x1x2x4xf32>) -> tensor<1x1x2x2xf32>
  %kn = off.neg %khi : tensor<1x1x2x2xf32>
  %krot = off.concat %kn, %klo {axis = 3 : i64} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x2x4xf32>
  %kb = off.mul %sin2, %krot : (tensor<2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  %z = off.add %kb, %ka : (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  return %y, %z : tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>
}

// -----

// Tests a near miss: the half rotation negates the wrong half,
// concat(x[..., :D/2], -x[..., D/2:]) (the rotation the other way round).
// CHECK-LABEL: func.func @rope_wrong_rotation
// CHECK-NOT: off.rope
// CHECK: off.concat
func.func @rope_wrong_rotation(%x: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %cos = off.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.5, 0.75, 0.5, 0.75]]> : tensor<2x4xf32>
  %sin = off.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]]> : tensor<2x4xf32>
  %a = off.mul %x, %cos : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %hi = off.slice %x {axis = 3 : i64, start = 2 : i64, end = 4 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %lo = off.slice %x {axis = 3 : i64, start = 0 : i64, end = 2 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %n = off.neg %hi : tensor<1x2x2x2xf32>
  %rot = off.concat %lo, %n {axis = 3 : i64} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x4xf32>
  %b = off.mul %rot, %sin : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %y = off.add %a, %b : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %y : tensor<1x2x2x4xf32>
}

// -----

// Tests a near miss: the halves are split at 1 instead of D/2 = 2.
// CHECK-LABEL: func.func @rope_wrong_split
// CHECK-NOT: off.rope
// CHECK: off.concat
func.func @rope_wrong_split(%x: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %cos = off.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.5, 0.75, 0.5, 0.75]]> : tensor<2x4xf32>
  %sin = off.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]]> : tensor<2x4xf32>
  %a = off.mul %x, %cos : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %hi = off.slice %x {axis = 3 : i64, start = 1 : i64, end = 4 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x3xf32>
  %lo = off.slice %x {axis = 3 : i64, start = 0 : i64, end = 1 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x1xf32>
  %n = off.neg %hi : tensor<1x2x2x3xf32>
  %rot = off.concat %n, %lo {axis = 3 : i64} : (tensor<1x2x2x3xf32>, tensor<1x2x2x1xf32>) -> tensor<1x2x2x4xf32>
  %b = off.mul %rot, %sin : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %y = off.add %a, %b : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %y : tensor<1x2x2x4xf32>
}

// -----

// Tests near misses on the tables: a cos whose halves differ (interleaved
// frequencies, not Llama's layout), and a sin that differs per head.
// CHECK-LABEL: func.func @rope_halves_differ
// CHECK-NOT: off.rope
// CHECK-LABEL: func.func @rope_table_per_head
// CHECK-NOT: off.rope
// CHECK: return
func.func @rope_halves_differ(%x: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %cos = off.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.75, 0.75]]> : tensor<2x4xf32>
  %sin = off.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]]> : tensor<2x4xf32>
  %a = off.mul %x, %cos : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %hi = off.slice %x {axis = 3 : i64, start = 2 : i64, end = 4 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %lo = off.slice %x {axis = 3 : i64, start = 0 : i64, end = 2 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %n = off.neg %hi : tensor<1x2x2x2xf32>
  %rot = off.concat %n, %lo {axis = 3 : i64} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x4xf32>
  %b = off.mul %rot, %sin : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %y = off.add %a, %b : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %y : tensor<1x2x2x4xf32>
}
func.func @rope_table_per_head(%x: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %cos = off.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.5, 0.75, 0.5, 0.75]]> : tensor<2x4xf32>
  %sin = off.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]], [[0.0, 0.0, 0.0, 0.0], [0.5, 0.25, 0.5, 0.25]]]]> : tensor<1x2x2x4xf32>
  %a = off.mul %x, %cos : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  %hi = off.slice %x {axis = 3 : i64, start = 2 : i64, end = 4 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %lo = off.slice %x {axis = 3 : i64, start = 0 : i64, end = 2 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %n = off.neg %hi : tensor<1x2x2x2xf32>
  %rot = off.concat %n, %lo {axis = 3 : i64} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x4xf32>
  %b = off.mul %rot, %sin : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  %y = off.add %a, %b : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %y : tensor<1x2x2x4xf32>
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

// -----

// Tests softmax(q k^T * 1/sqrt(D) + causal mask) v with the mask written as
// the float minimum above the diagonal (as the TorchScript exporter does):
// attention {causal} with the default scale (1/sqrt(4) = 0.5, no attribute).
// CHECK-LABEL: func.func @attention_causal
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x3x4xf32>, %[[K:.+]]: tensor<1x2x3x4xf32>, %[[V:.+]]: tensor<1x2x3x4xf32>)
// CHECK-NEXT: %[[O:.+]] = off.attention %[[Q]], %[[K]], %[[V]] {causal} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
// CHECK-NEXT: return %[[O]]
func.func @attention_causal(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %scale = off.constant dense<0.5> : tensor<f32>
  %ss = off.mul %s, %scale : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %mask = off.constant dense<[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m = off.add %ss, %mask : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests grouped-query attention as the dynamo exporter writes it: the scale
// split as sqrt(scale) over q and k^T, the one key/value head repeated by
// reshape - broadcast_to - reshape (dropped: the fused op reads Hkv = 1
// head), and no mask: not causal.
// CHECK-LABEL: func.func @attention_gqa_split_scale
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x3x4xf32>, %[[K:.+]]: tensor<1x1x3x4xf32>, %[[V:.+]]: tensor<1x1x3x4xf32>)
// CHECK-NEXT: %[[O:.+]] = off.attention %[[Q]], %[[K]], %[[V]] : (tensor<1x2x3x4xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<1x2x3x4xf32>
// CHECK-NEXT: return %[[O]]
func.func @attention_gqa_split_scale(%q: tensor<1x2x3x4xf32>, %k: tensor<1x1x3x4xf32>, %v: tensor<1x1x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %k5 = off.reshape %k : tensor<1x1x3x4xf32> to tensor<1x1x1x3x4xf32>
  %kb = off.broadcast_to %k5 : tensor<1x1x1x3x4xf32> to tensor<1x1x2x3x4xf32>
  %kr = off.reshape %kb : tensor<1x1x2x3x4xf32> to tensor<1x2x3x4xf32>
  %v5 = off.reshape %v : tensor<1x1x3x4xf32> to tensor<1x1x1x3x4xf32>
  %vb = off.broadcast_to %v5 : tensor<1x1x1x3x4xf32> to tensor<1x1x2x3x4xf32>
  %vr = off.reshape %vb : tensor<1x1x2x3x4xf32> to tensor<1x2x3x4xf32>
  %root = off.constant dense<0.707106769> : tensor<f32>
  %qs = off.mul %q, %root : (tensor<1x2x3x4xf32>, tensor<f32>) -> tensor<1x2x3x4xf32>
  %kt = off.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %kts = off.mul %kt, %root : (tensor<1x2x4x3xf32>, tensor<f32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %qs, %kts : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %s {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %vr : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests a scale other than 1/sqrt(D), written as a division of the scores
// by 4, kept as the attribute; the mask uses -inf (bit pattern 0xFF800000).
// CHECK-LABEL: func.func @attention_other_scale
// CHECK-NEXT: off.attention %{{.+}}, %{{.+}}, %{{.+}} {causal, scale = 2.500000e-01 : f64}
func.func @attention_other_scale(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %four = off.constant dense<4.0> : tensor<f32>
  %ss = off.div %s, %four : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %mask = off.constant dense<[[[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]]]> : tensor<1x1x3x3xf32>
  %m = off.add %mask, %ss : (tensor<1x1x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests a near miss: a mask that also hides the diagonal (each query sees
// only earlier keys) is not causal; nothing fuses.
// CHECK-LABEL: func.func @attention_mask_not_causal
// CHECK-NOT: off.attention
// CHECK: off.softmax
func.func @attention_mask_not_causal(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %scale = off.constant dense<0.5> : tensor<f32>
  %ss = off.mul %s, %scale : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %mask = off.constant dense<[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38]]> : tensor<3x3xf32>
  %m = off.add %ss, %mask : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests a near miss: a soft bias (-1 above the diagonal, an ALiBi-like
// penalty) is no causal mask.
// CHECK-LABEL: func.func @attention_soft_bias
// CHECK-NOT: off.attention
// CHECK: off.softmax
func.func @attention_soft_bias(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %mask = off.constant dense<[[0.0, -1.0, -1.0], [0.0, 0.0, -1.0], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m = off.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests a near miss: a mask computed from the input (a padding mask) is not
// known at compile time.
// CHECK-LABEL: func.func @attention_mask_from_input
// CHECK-NOT: off.attention
// CHECK: off.softmax
func.func @attention_mask_from_input(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>, %mask: tensor<3x3xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %m = off.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests near misses in the structure: softmax over the query axis, and
// q k without the transpose (q and k square, so the types still fit).
// CHECK-LABEL: func.func @attention_softmax_wrong_axis
// CHECK-NOT: off.attention
// CHECK-LABEL: func.func @attention_keys_not_transposed
// CHECK-NOT: off.attention
// CHECK: return
func.func @attention_softmax_wrong_axis(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %s {axis = 2 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}
func.func @attention_keys_not_transposed(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x4x4xf32>, %v: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %s = off.matmul %q, %k : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = off.softmax %s {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = off.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}

// -----

// Tests that an attention op reading grouped-query repeats of its keys and
// values (as ONNX's Attention op gets them from the dynamo exporter) reads
// the Hkv heads directly: query head h uses kv head h / 2 either way.
// CHECK-LABEL: func.func @attention_drops_head_repeat
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x3x4xf32>, %[[K:.+]]: tensor<1x2x3x4xf32>, %[[V:.+]]: tensor<1x2x3x4xf32>)
// CHECK-NEXT: %[[O:.+]] = off.attention %[[Q]], %[[K]], %[[V]] {causal} : (tensor<1x4x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x4x3x4xf32>
// CHECK-NEXT: return %[[O]]
func.func @attention_drops_head_repeat(%q: tensor<1x4x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x4x3x4xf32> {
  %k5 = off.reshape %k : tensor<1x2x3x4xf32> to tensor<1x2x1x3x4xf32>
  %kb = off.broadcast_to %k5 : tensor<1x2x1x3x4xf32> to tensor<1x2x2x3x4xf32>
  %kr = off.reshape %kb : tensor<1x2x2x3x4xf32> to tensor<1x4x3x4xf32>
  %v5 = off.reshape %v : tensor<1x2x3x4xf32> to tensor<1x2x1x3x4xf32>
  %vb = off.broadcast_to %v5 : tensor<1x2x1x3x4xf32> to tensor<1x2x2x3x4xf32>
  %vr = off.reshape %vb : tensor<1x2x2x3x4xf32> to tensor<1x4x3x4xf32>
  %o = off.attention %q, %kr, %vr {causal} : (tensor<1x4x3x4xf32>, tensor<1x4x3x4xf32>, tensor<1x4x3x4xf32>) -> tensor<1x4x3x4xf32>
  return %o : tensor<1x4x3x4xf32>
}

// -----

// Tests a near miss: heads tiled (kv head h mod 2, a broadcast over a new
// leading axis) are not the grouped-query layout; the repeat stays.
// CHECK-LABEL: func.func @attention_keeps_tiled_heads
// CHECK: off.broadcast_to
// CHECK: off.attention %{{.+}}, %{{.+}}, %{{.+}} {causal} : (tensor<1x4x3x4xf32>, tensor<1x4x3x4xf32>, tensor<1x4x3x4xf32>)
func.func @attention_keeps_tiled_heads(%q: tensor<1x4x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x4x3x4xf32> {
  %k5 = off.reshape %k : tensor<1x2x3x4xf32> to tensor<1x1x2x3x4xf32>
  %kb = off.broadcast_to %k5 : tensor<1x1x2x3x4xf32> to tensor<1x2x2x3x4xf32>
  %kr = off.reshape %kb : tensor<1x2x2x3x4xf32> to tensor<1x4x3x4xf32>
  %v5 = off.reshape %v : tensor<1x2x3x4xf32> to tensor<1x1x2x3x4xf32>
  %vb = off.broadcast_to %v5 : tensor<1x1x2x3x4xf32> to tensor<1x2x2x3x4xf32>
  %vr = off.reshape %vb : tensor<1x2x2x3x4xf32> to tensor<1x4x3x4xf32>
  %o = off.attention %q, %kr, %vr {causal} : (tensor<1x4x3x4xf32>, tensor<1x4x3x4xf32>, tensor<1x4x3x4xf32>) -> tensor<1x4x3x4xf32>
  return %o : tensor<1x4x3x4xf32>
}
