// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place=place=params=host --off-insert-transfers=prefetch=0 | FileCheck %s
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place=place=params=host --off-insert-transfers=prefetch=1 | FileCheck %s --check-prefix=AHEAD
// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-insert-transfers=prefetch=2 2>&1 | FileCheck %s --check-prefix=BAD
// off-insert-transfers' prefetch option: how far ahead of its first use a
// copy toward a faster tier is issued (offc compile --strategy
// accelerate-offload uses 0: weights moved when the layer runs, not before).

// Tests that with prefetch=0 each layer's param is copied right before the
// op that reads it (nothing between the copy, its wait and the use), so the
// compute stream cannot overlap it with the layer before.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[W0:.+]] = off.param "model.layers.0.mlp.weight" {trainable} : tensor<8x8xf32, #off.tier<host>>
// CHECK: %[[W1:.+]] = off.param "model.layers.1.mlp.weight" {trainable} : tensor<8x8xf32, #off.tier<host>>
// CHECK: off.embedding
// CHECK: %[[D0:.+]], %[[T0:.+]] = off.prefetch %[[W0]] from <host> to <device> {off.stream = #off.stream<h2d>}
// CHECK-NEXT: off.wait %[[T0]]
// CHECK-NEXT: off.matmul %{{.+}}, %[[D0]] {transpose_rhs = true}
// CHECK-NEXT: off.free %[[D0]]
// CHECK: %[[D1:.+]], %[[T1:.+]] = off.prefetch %[[W1]] from <host> to <device> {off.stream = #off.stream<h2d>}
// CHECK-NEXT: off.wait %[[T1]]
// CHECK-NEXT: off.matmul %{{.+}}, %[[D1]] {transpose_rhs = true}

// Tests that the default (1) still issues layer 1's copy while layer 0 runs.
// AHEAD: %[[W0:.+]] = off.param "model.layers.0.mlp.weight"
// AHEAD: %[[W1:.+]] = off.param "model.layers.1.mlp.weight"
// AHEAD: %{{.+}}, %[[T0:.+]] = off.prefetch %[[W0]] from <host> to <device>
// AHEAD: off.wait %[[T0]]
// AHEAD-NEXT: off.prefetch %[[W1]] from <host> to <device>
// AHEAD-NEXT: off.matmul

// Tests that another distance is refused, naming the option.
// BAD: prefetch must be 0 or 1, got 2
