// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-remat=remat=all | FileCheck %s --check-prefix=ALL
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-remat=remat=model.layers.1 | FileCheck %s --check-prefix=ONE
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff="clip=0 grad-accum=2" --off-remat=remat=all | FileCheck %s --check-prefix=MICRO
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-remat=remat=none | FileCheck %s --check-prefix=NONE
// RUN: off-opt %S/Inputs/three_layers.mlir --off-remat=remat=all | FileCheck %s --check-prefix=FORWARD
// RUN: off-opt %s --split-input-file --off-remat=remat=all | FileCheck %s
// off-remat: one off.recompute region per selected layer (and micro-batch),
// right before the layer's backward, recomputing from the layer's input.

// Tests that every layer's matmul (which the silu backward reads) is
// recomputed from the layer's input and param, the last layer's first, and
// the backward reads the region's result.
// ALL-LABEL: func.func @train_step
// ALL: %[[X0:.+]] = off.embedding
// ALL: %[[X1:.+]] = off.add %[[X0]]
// ALL: %[[X2:.+]] = off.add %[[X1]]
// ALL: off.cross_entropy_grad
// ALL: %[[R2:.+]] = off.recompute -> tensor<2x4x8xf32> {
// ALL-NEXT: %[[M2:.+]] = off.matmul %[[X2]], %{{.+}} {off.recomputed, transpose_rhs = true}
// ALL-NEXT: off.yield %[[M2]]
// ALL-NEXT: }
// ALL-NEXT: off.sigmoid %[[R2]]
// ALL: off.recompute
// ALL-NEXT: off.matmul %[[X1]], {{.*}}off.recomputed
// ALL: off.recompute
// ALL-NEXT: off.matmul %[[X0]], {{.*}}off.recomputed
// ALL-NOT: off.recompute
// ALL: off.embedding_grad

// Tests that a pattern selects layers by name.
// ONE-LABEL: func.func @train_step
// ONE: %[[X1:.+]] = off.add
// ONE: %[[M1:.+]] = off.matmul %[[X1]]
// ONE-COUNT-1: off.recompute
// ONE-NEXT: off.matmul %[[X1]], {{.*}}off.recomputed
// ONE-NOT: off.recompute
// ONE: off.sigmoid %[[M0:.+]] :
// ONE-NOT: off.recompute

// Tests that each micro-batch's layers get their own regions.
// MICRO-LABEL: func.func @train_step
// MICRO-COUNT-6: off.recompute ->
// MICRO-NOT: off.recompute ->

// Tests that remat=none changes nothing.
// NONE-LABEL: func.func @train_step
// NONE-NOT: off.recompute

// Tests that a forward step (no backward) is left alone.
// FORWARD-LABEL: func.func @forward
// FORWARD-NOT: off.recompute

// -----

// Tests that only the ops the backward needs are recomputed: the matmul and
// the silu (read by the backward), not the layer's residual sum, which is
// the next layer's input and is kept.
// CHECK-LABEL: func.func @train_step
func.func @train_step(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %ids: tensor<4xi32>) -> tensor<f32> {
  %w0 = off.param "model.layers.0.w" : tensor<8x8xf32>
  %w1 = off.param "model.layers.1.w" : tensor<8x8xf32>
  // CHECK: %[[H:.+]] = off.matmul %[[X:[^,]+]], %[[W0:[^ ]+]] :
  %h = off.matmul %x, %w0 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = off.silu %h : tensor<4x8xf32>
  // CHECK: %[[S:.+]] = off.add
  %s = off.add %x, %a : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = off.matmul %s, %w1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %loss = off.cross_entropy %y, %ids : (tensor<4x8xf32>, tensor<4xi32>) -> tensor<f32>
  // CHECK: %[[R:.+]]:2 = off.recompute -> tensor<4x8xf32>, tensor<4x8xf32> {
  // CHECK-NEXT: %[[H2:.+]] = off.matmul %[[X]], %[[W0]] {off.recomputed}
  // CHECK-NEXT: %[[A2:.+]] = off.silu %[[H2]] {off.recomputed}
  // CHECK-NEXT: off.yield %[[H2]], %[[A2]]
  // CHECK: off.mul %{{.+}}, %[[R]]#0
  %g1 = off.mul %dy, %h : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: off.mul %{{.+}}, %[[R]]#1
  %g2 = off.mul %g1, %a : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: off.mul %{{.+}}, %[[S]]
  %g3 = off.mul %g2, %s : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %n = off.global_norm %g3 : tensor<4x8xf32> -> tensor<f32>
  return %loss : tensor<f32>
}
