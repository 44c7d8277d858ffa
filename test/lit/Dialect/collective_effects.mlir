// RUN: off-opt %s --cse --canonicalize | FileCheck %s

// Collectives act on the ranks' shared channel (off.comm), so generic
// passes keep every one of them, in order: two alike are not merged, one
// whose result is unused is not dropped (every rank must take part), and a
// pure op between them does not reorder them.

// CHECK-LABEL: func.func @collectives_are_kept_in_order
func.func @collectives_are_kept_in_order(%g: tensor<64x64xf32>, %s: tensor<16x64xf32>)
    -> (tensor<16x64xf32>, tensor<16x64xf32>) {
  // CHECK: %[[A:.+]] = off.reduce_scatter %{{.+}} {axis = 0 : i64, ranks = 4 : i64}
  // CHECK-NEXT: %[[B:.+]] = off.reduce_scatter %{{.+}} {axis = 0 : i64, ranks = 4 : i64}
  // CHECK-NEXT: off.all_gather %{{.+}} {axis = 0 : i64, ranks = 4 : i64}
  // CHECK-NEXT: return %[[A]], %[[B]]
  %a = off.reduce_scatter %g {axis = 0 : i64, ranks = 4 : i64}
      : (tensor<64x64xf32>) -> tensor<16x64xf32>
  %b = off.reduce_scatter %g {axis = 0 : i64, ranks = 4 : i64}
      : (tensor<64x64xf32>) -> tensor<16x64xf32>
  %unused = off.all_gather %s {axis = 0 : i64, ranks = 4 : i64}
      : (tensor<16x64xf32>) -> tensor<64x64xf32>
  return %a, %b : tensor<16x64xf32>, tensor<16x64xf32>
}
