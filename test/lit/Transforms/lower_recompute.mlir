// RUN: off-opt %s --split-input-file --off-lower-recompute | FileCheck %s
// off-lower-recompute: a region's kernels run where the region was.

// Tests that the region's ops replace it, in order, and its users read
// what it yielded.
// CHECK-LABEL: func.func @flat
func.func @flat(%x: tensor<4xf32>, %w: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NEXT: %[[A:.+]] = off.silu %{{.+}} {off.recomputed}
  // CHECK-NEXT: %[[B:.+]] = off.mul %[[A]], %{{.+}} {off.recomputed}
  // CHECK-NEXT: %[[C:.+]] = off.add %[[A]], %[[B]]
  // CHECK-NEXT: return %[[C]]
  %r:2 = off.recompute -> tensor<4xf32>, tensor<4xf32> {
    %a = off.silu %x {off.recomputed} : tensor<4xf32>
    %b = off.mul %a, %w {off.recomputed} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    off.yield %a, %b : tensor<4xf32>, tensor<4xf32>
  }
  %c = off.add %r#0, %r#1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// Tests that a region yielding an outside value is replaced by that value.
// CHECK-LABEL: func.func @passthrough
func.func @passthrough(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NEXT: %[[N:.+]] = off.neg %[[X:.+]] :
  %r = off.recompute -> tensor<4xf32> {
    off.yield %x : tensor<4xf32>
  }
  %n = off.neg %r : tensor<4xf32>
  // CHECK-NEXT: return %[[N]]
  return %n : tensor<4xf32>
}
