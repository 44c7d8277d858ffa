// RUN: off-opt --split-input-file --off-fold-shapes %s | FileCheck %s
// RUN: off-opt --split-input-file --off-fold-shapes='max-elements=4' %s | FileCheck %s --check-prefix=SMALL

// Expected values are worked out by hand from the ops' definitions.

// Tests that shape arithmetic folds to one constant: dimension 3 of a shape
// vector times dimension 1, divided by 2, concatenated with -1 as a new
// target shape (16 * 8 / 2 = 64). The ops left without users are erased.
// CHECK-LABEL: func.func @shape_arithmetic
// CHECK-NEXT: %[[C:.+]] = off.constant dense<[2, 64, -1]> : tensor<3xi64>
// CHECK-NEXT: return %[[C]]
func.func @shape_arithmetic() -> tensor<3xi64> {
  %shape = off.constant dense<[2, 8, 4, 16]> : tensor<4xi64>
  %i3 = off.constant dense<3> : tensor<1xi64>
  %i1 = off.constant dense<1> : tensor<1xi64>
  %i0 = off.constant dense<0> : tensor<1xi64>
  %d3 = off.gather %shape, %i3 {axis = 0 : i64} : (tensor<4xi64>, tensor<1xi64>) -> tensor<1xi64>
  %d1 = off.gather %shape, %i1 {axis = 0 : i64} : (tensor<4xi64>, tensor<1xi64>) -> tensor<1xi64>
  %d0 = off.gather %shape, %i0 {axis = 0 : i64} : (tensor<4xi64>, tensor<1xi64>) -> tensor<1xi64>
  %p = off.mul %d3, %d1 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %two = off.constant dense<2> : tensor<i64>
  %h = off.div %p, %two : (tensor<1xi64>, tensor<i64>) -> tensor<1xi64>
  %m1 = off.constant dense<-1> : tensor<1xi64>
  %s = off.concat %d0, %h, %m1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  return %s : tensor<3xi64>
}

// -----

// Tests that integer division truncates towards zero (-7 / 2 = -3), as ONNX
// and C do, and that subtraction wraps at the element width (i32).
// CHECK-LABEL: func.func @integer_semantics
// CHECK-NEXT: %[[D:.+]] = off.constant dense<[-3, 3]> : tensor<2xi64>
// CHECK-NEXT: %[[W:.+]] = off.constant dense<2147483647> : tensor<i32>
// CHECK-NEXT: return %[[D]], %[[W]]
func.func @integer_semantics() -> (tensor<2xi64>, tensor<i32>) {
  %a = off.constant dense<[-7, 7]> : tensor<2xi64>
  %b = off.constant dense<2> : tensor<i64>
  %d = off.div %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %min = off.constant dense<-2147483648> : tensor<i32>
  %one = off.constant dense<1> : tensor<i32>
  %w = off.sub %min, %one : (tensor<i32>, tensor<i32>) -> tensor<i32>
  return %d, %w : tensor<2xi64>, tensor<i32>
}

// -----

// Tests that a causal mask built from position ids folds: positions [0, 1, 2]
// as rows and columns, (col - row) cast to f32, clamped below by 0 through a
// reduce over a broadcast (max(d, 0) as reduce_max of [d, 0]), times -1e9.
// Row t keeps column s <= t: 0 * -1e9 there (-0 in IEEE arithmetic, as
// f32 hardware gives), -1e9 * (s - t) above the diagonal.
// CHECK-LABEL: func.func @causal_mask
// CHECK-NEXT: %[[M:.+]] = off.constant dense<{{\[\[}}-0.000000e+00, -1.000000e+09, -2.000000e+09], [-0.000000e+00, -0.000000e+00, -1.000000e+09], [-0.000000e+00, -0.000000e+00, -0.000000e+00]]> : tensor<3x3xf32>
// CHECK-NEXT: return %[[M]]
func.func @causal_mask() -> tensor<3x3xf32> {
  %pos = off.constant dense<[0, 1, 2]> : tensor<3xi64>
  %rows = off.reshape %pos : tensor<3xi64> to tensor<3x1xi64>
  %cols = off.reshape %pos : tensor<3xi64> to tensor<1x3xi64>
  %d = off.sub %cols, %rows : (tensor<1x3xi64>, tensor<3x1xi64>) -> tensor<3x3xi64>
  %f = off.cast %d : tensor<3x3xi64> to tensor<3x3xf32>
  %f1 = off.reshape %f : tensor<3x3xf32> to tensor<3x3x1xf32>
  %zero = off.constant dense<0.0> : tensor<3x3x1xf32>
  %both = off.concat %f1, %zero {axis = 2 : i64} : (tensor<3x3x1xf32>, tensor<3x3x1xf32>) -> tensor<3x3x2xf32>
  %pos_part = off.reduce_max %both {axes = array<i64: 2>} : (tensor<3x3x2xf32>) -> tensor<3x3xf32>
  %big = off.constant dense<-1.0e9> : tensor<f32>
  %mask = off.mul %pos_part, %big : (tensor<3x3xf32>, tensor<f32>) -> tensor<3x3xf32>
  return %mask : tensor<3x3xf32>
}

// -----

// Tests a rotary table: inv_freq [1, 0.5] times positions [0, 1, 2] as an
// outer product (matmul of [3, 1] by [1, 2]), repeated in both halves by
// concat, then broadcast over a head axis and sliced back. The f32 results
// are those of f32 arithmetic (products exact here).
// CHECK-LABEL: func.func @rotary_angles
// CHECK-NEXT: %[[A:.+]] = off.constant dense<{{\[\[}}0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 5.000000e-01, 1.000000e+00, 5.000000e-01], [2.000000e+00, 1.000000e+00, 2.000000e+00, 1.000000e+00]]> : tensor<3x4xf32>
// CHECK-NEXT: return %[[A]]
func.func @rotary_angles() -> tensor<3x4xf32> {
  %pos = off.constant dense<[[0.0], [1.0], [2.0]]> : tensor<3x1xf32>
  %inv = off.constant dense<[[1.0, 0.5]]> : tensor<1x2xf32>
  %freqs = off.matmul %pos, %inv : (tensor<3x1xf32>, tensor<1x2xf32>) -> tensor<3x2xf32>
  %emb = off.concat %freqs, %freqs {axis = 1 : i64} : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>
  %e1 = off.reshape %emb : tensor<3x4xf32> to tensor<1x3x4xf32>
  %heads = off.broadcast_to %e1 : tensor<1x3x4xf32> to tensor<2x3x4xf32>
  %first = off.slice %heads {axis = 0 : i64, start = 0 : i64, end = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<1x3x4xf32>
  %table = off.reshape %first : tensor<1x3x4xf32> to tensor<3x4xf32>
  return %table : tensor<3x4xf32>
}

// -----

// Tests transpose, strided slice, mean and softmax on constants:
// [[1, 2, 3], [4, 5, 6]]^T = [[1, 4], [2, 5], [3, 6]]; rows 0 and 2 of it;
// the mean of each is 2.5 and 4.5; softmax of [0, ln 3] is [0.25, 0.75].
// CHECK-LABEL: func.func @movement_and_reductions
// CHECK-DAG: off.constant dense<{{\[\[}}1.000000e+00, 4.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: off.constant dense<[2.500000e+00, 4.500000e+00]> : tensor<2xf32>
// CHECK-DAG: off.constant dense<[2.500000e-01, 7.500000e-01]> : tensor<2xf32>
// CHECK-NOT: off.transpose
// CHECK-NOT: off.reduce_mean
// CHECK-NOT: off.softmax
func.func @movement_and_reductions() -> (tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %x = off.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = off.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %s = off.slice %t {axis = 0 : i64, start = 0 : i64, end = 3 : i64, step = 2 : i64} : (tensor<3x2xf32>) -> tensor<2x2xf32>
  %m = off.reduce_mean %s {axes = array<i64: 1>} : (tensor<2x2xf32>) -> tensor<2xf32>
  %l = off.constant dense<[0.0, 1.0986122886681098]> : tensor<2xf32>
  %p = off.softmax %l {axis = 0 : i64} : tensor<2xf32>
  return %s, %m, %p : tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// Tests that ops reading a parameter or the input are not folded, while the
// shape operands feeding them are.
// CHECK-LABEL: func.func @not_constant
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[W:.+]] = off.param "w" {trainable} : tensor<3xf32>
// CHECK-NEXT: %[[B:.+]] = off.constant dense<3.000000e+00> : tensor<3xf32>
// CHECK-NEXT: %[[S:.+]] = off.add %[[W]], %[[B]]
// CHECK-NEXT: %[[Y:.+]] = off.mul %[[X]], %[[S]]
// CHECK-NEXT: return %[[Y]]
func.func @not_constant(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = off.param "w" {trainable} : tensor<3xf32>
  %one = off.constant dense<1.0> : tensor<3xf32>
  %two = off.constant dense<2.0> : tensor<3xf32>
  %b = off.add %one, %two : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %s = off.add %w, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %y = off.mul %x, %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that results larger than max-elements stay ops (max-elements=4), while the
// default folds them.
// CHECK-LABEL: func.func @too_large
// CHECK-NEXT: %[[C:.+]] = off.constant dense<2.000000e+00> : tensor<2x4xf32>
// CHECK-NEXT: return %[[C]]
// SMALL-LABEL: func.func @too_large
// SMALL: off.broadcast_to
// SMALL: off.add
func.func @too_large() -> tensor<2x4xf32> {
  %one = off.constant dense<1.0> : tensor<1x4xf32>
  %b = off.broadcast_to %one : tensor<1x4xf32> to tensor<2x4xf32>
  %c = off.add %b, %b : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %c : tensor<2x4xf32>
}

// -----

// Tests the layout ops that do nothing for static shapes: reshape and cast
// to the same type, identity transpose, a slice keeping the whole axis, a
// concat of one tensor.
// CHECK-LABEL: func.func @no_op_layout
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]]
func.func @no_op_layout(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = off.reshape %x : tensor<2x3xf32> to tensor<2x3xf32>
  %c = off.cast %r : tensor<2x3xf32> to tensor<2x3xf32>
  %t = off.transpose %c {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %s = off.slice %t {axis = 1 : i64, start = 0 : i64, end = 3 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %k = off.concat %s {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %k : tensor<2x3xf32>
}

// -----

// Tests that chains merge: reshape of reshape is one reshape, transpose of
// transpose one transpose with the composed permutation ((1,2,0) after
// (0,2,1): result dim i is x's dim inner[outer[i]] = (2, 1, 0)).
// CHECK-LABEL: func.func @merge_chains
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.+]] = off.reshape %[[X]] : tensor<2x3x4xf32> to tensor<24xf32>
// CHECK-NEXT: %[[T:.+]] = off.transpose %[[X]] {perm = array<i64: 2, 1, 0>} : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
// CHECK-NEXT: return %[[R]], %[[T]]
func.func @merge_chains(%x: tensor<2x3x4xf32>) -> (tensor<24xf32>, tensor<4x3x2xf32>) {
  %a = off.reshape %x : tensor<2x3x4xf32> to tensor<6x4xf32>
  %b = off.reshape %a : tensor<6x4xf32> to tensor<24xf32>
  %t1 = off.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %t2 = off.transpose %t1 {perm = array<i64: 1, 2, 0>} : (tensor<2x4x3xf32>) -> tensor<4x3x2xf32>
  return %b, %t2 : tensor<24xf32>, tensor<4x3x2xf32>
}

// -----

// Tests that k^T written through a [B*H, S, D] view (as the SDPA
// decomposition writes it) becomes one transpose of the last two dims.
// CHECK-LABEL: func.func @reshape_transpose_reshape
// CHECK-SAME: (%[[K:.+]]: tensor<2x4x8x16xf32>)
// CHECK-NEXT: %[[T:.+]] = off.transpose %[[K]] {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
// CHECK-NEXT: return %[[T]]
func.func @reshape_transpose_reshape(%k: tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32> {
  %a = off.reshape %k : tensor<2x4x8x16xf32> to tensor<8x8x16xf32>
  %t = off.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<8x8x16xf32>) -> tensor<8x16x8xf32>
  %b = off.reshape %t : tensor<8x16x8xf32> to tensor<2x4x16x8xf32>
  return %b : tensor<2x4x16x8xf32>
}

// -----

// Tests a near miss: the second reshape regroups the elements (it splits
// 8x16 as 16x8 where the dims are 16 then 8, the other way round), so the
// chain is no permutation of k's dims and stays.
// CHECK-LABEL: func.func @reshape_transpose_reshape_regroups
// CHECK: off.reshape
// CHECK-NEXT: off.transpose {{.*}} {perm = array<i64: 0, 2, 1>}
// CHECK-NEXT: off.reshape
func.func @reshape_transpose_reshape_regroups(%k: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %a = off.reshape %k : tensor<2x4x8x16xf32> to tensor<8x8x16xf32>
  %t = off.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<8x8x16xf32>) -> tensor<8x16x8xf32>
  %b = off.reshape %t : tensor<8x16x8xf32> to tensor<2x4x8x16xf32>
  return %b : tensor<2x4x8x16xf32>
}

// -----

// Tests k^T of repeated key heads as the static-shape dynamo export writes
// it: the [B, Hkv, n, S, D] repeat viewed as [B*H, S, D], the last two dims
// swapped, viewed back as [B, H, D, S]. The reshapes only regroup the
// leading dims, so it becomes a reshape to [B, H, S, D] and the swap.
// CHECK-LABEL: func.func @swap_through_batch_reshapes
// CHECK-SAME: (%[[K:.+]]: tensor<2x2x2x16x8xf32>)
// CHECK-NEXT: %[[R:.+]] = off.reshape %[[K]] : tensor<2x2x2x16x8xf32> to tensor<2x4x16x8xf32>
// CHECK-NEXT: %[[T:.+]] = off.transpose %[[R]] {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32>
// CHECK-NEXT: return %[[T]]
func.func @swap_through_batch_reshapes(%k: tensor<2x2x2x16x8xf32>) -> tensor<2x4x8x16xf32> {
  %a = off.reshape %k : tensor<2x2x2x16x8xf32> to tensor<8x16x8xf32>
  %t = off.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<8x16x8xf32>) -> tensor<8x8x16xf32>
  %b = off.reshape %t : tensor<8x8x16xf32> to tensor<2x4x8x16xf32>
  return %b : tensor<2x4x8x16xf32>
}

// -----

// Tests a near miss: the first reshape also merges a dim into the last two
// ([2, 4, 4, 8] -> [8, 16, 2] splits the rows), so the swap does not commute
// with the reshapes and the chain stays.
// CHECK-LABEL: func.func @swap_through_batch_reshapes_rows_regrouped
// CHECK: off.reshape
// CHECK-NEXT: off.transpose {{.*}} {perm = array<i64: 0, 2, 1>}
// CHECK-NEXT: off.reshape
func.func @swap_through_batch_reshapes_rows_regrouped(%k: tensor<2x4x4x8xf32>) -> tensor<2x4x2x16xf32> {
  %a = off.reshape %k : tensor<2x4x4x8xf32> to tensor<8x16x2xf32>
  %t = off.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<8x16x2xf32>) -> tensor<8x2x16xf32>
  %b = off.reshape %t : tensor<8x2x16xf32> to tensor<2x4x2x16xf32>
  return %b : tensor<2x4x2x16xf32>
}
