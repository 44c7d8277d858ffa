// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-split-norm | FileCheck %s --check-prefix=STEP
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=grad-accum=2 --off-split-norm | FileCheck %s --check-prefix=ACCUM
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-split-norm --off-place=place=grads=host,optimizer=host --off-insert-transfers | FileCheck %s --check-prefix=FREED
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-place=place=grads=host,optimizer=host --off-insert-transfers | FileCheck %s --check-prefix=UNSPLIT
// RUN: off-opt %s --split-input-file --off-split-norm | FileCheck %s
// off-split-norm: the global gradient norm as one partial per gradient,
// taken right after the gradient is made, and a combine where the norm was.

// Tests that each gradient's partial follows the op that makes it (the
// head's first, the embedding's last), that the combine reads the partials
// in global_norm's operand order (param declaration order: embedding,
// layers 0-2, head), and that AdamW and the returned norm read the combine.
// STEP-LABEL: func.func @train_step
// STEP-NOT: off.global_norm
// STEP: %[[GH:.+]] = off.matmul %{{.+}}, %{{.+}} {transpose_lhs = true} : (tensor<8x16xf32>, tensor<8x8xf32>) -> tensor<16x8xf32>
// STEP-NEXT: %[[PH:.+]] = off.norm_partial %[[GH]] : tensor<16x8xf32> -> tensor<1xf64>
// STEP: %[[G2:.+]] = off.matmul {{.*}}transpose_lhs = true{{.*}} -> tensor<8x8xf32>
// STEP-NEXT: %[[P2:.+]] = off.norm_partial %[[G2]]
// STEP: %[[G1:.+]] = off.matmul {{.*}}transpose_lhs = true{{.*}} -> tensor<8x8xf32>
// STEP-NEXT: %[[P1:.+]] = off.norm_partial %[[G1]]
// STEP: %[[G0:.+]] = off.matmul {{.*}}transpose_lhs = true{{.*}} -> tensor<8x8xf32>
// STEP-NEXT: %[[P0:.+]] = off.norm_partial %[[G0]]
// STEP: %[[GE:.+]] = off.embedding_grad
// STEP-NEXT: %[[PE:.+]] = off.norm_partial %[[GE]] : tensor<16x8xf32> -> tensor<1xf64>
// STEP-NEXT: %[[N:.+]] = off.norm_combine %[[PE]], %[[P0]], %[[P1]], %[[P2]], %[[PH]] : tensor<1xf64>, tensor<1xf64>, tensor<1xf64>, tensor<1xf64>, tensor<1xf64> -> tensor<f32>
// STEP-COUNT-5: off.adam_step {{.*}}, %[[N]] {
// STEP-NOT: off.global_norm
// STEP: return %{{.+}}, %[[N]]

// Tests that with two micro-batches the partials are of the final sums
// (off-autodiff adds each micro-batch's gradients after its backward), not
// of the first micro-batch's gradients.
// ACCUM-LABEL: func.func @train_step
// ACCUM: off.embedding_grad
// ACCUM-NOT: off.norm_partial
// ACCUM: off.embedding_grad
// ACCUM-NEXT: %[[SUM:.+]] = off.add
// ACCUM-NEXT: off.norm_partial %[[SUM]] : tensor<16x8xf32> -> tensor<1xf64>
// ACCUM-COUNT-4: off.norm_partial
// ACCUM: off.norm_combine
// ACCUM-NOT: off.norm_partial

// Tests what the split is for: gradients placed on the host are offloaded
// as they are made and their device copies freed within the backward, and
// nothing brings them back to the device for the norm.
// FREED-LABEL: func.func @train_step
// FREED: %[[G:.+]] = off.matmul {{.*}}transpose_lhs = true{{.*}} -> tensor<16x8xf32>
// FREED-NEXT: off.offload %[[G]] from <device> to <host>
// FREED-NEXT: off.norm_partial %[[G]]
// FREED: off.free %[[G]] from <device>
// FREED-NEXT: off.matmul
// FREED-NOT: off.prefetch {{.*}} from <host> to <device> {{.*}} : tensor<16x8xf32, #off.tier<host>>
// FREED: off.norm_combine

// The near miss without the split: the same placement brings the head's
// gradient (made first) back to the device for global_norm.
// UNSPLIT-LABEL: func.func @train_step
// UNSPLIT: off.cross_entropy_grad
// UNSPLIT: %[[BACK:.+]], %{{.+}} = off.prefetch %{{.+}} from <host> to <device> {{.*}} : tensor<16x8xf32, #off.tier<host>>
// UNSPLIT: off.global_norm {{.*}}, %[[BACK]] :

// -----

// Tests that a gradient listed twice gets one partial, read twice (the
// same sums global_norm would add twice), that a block argument's partial
// opens the block, and that 70000 elements make two blocks.
// CHECK-LABEL: func.func @shapes
// CHECK-NEXT: %[[PA:.+]] = off.norm_partial %arg0 : tensor<70000xf32> -> tensor<2xf64>
// CHECK-NEXT: %[[G:.+]] = off.neg %arg1
// CHECK-NEXT: %[[PG:.+]] = off.norm_partial %[[G]] : tensor<4x4xbf16> -> tensor<1xf64>
// CHECK-NEXT: %[[N:.+]] = off.norm_combine %[[PA]], %[[PG]], %[[PA]] : tensor<2xf64>, tensor<1xf64>, tensor<2xf64> -> tensor<f32>
// CHECK-NEXT: return %[[N]]
func.func @shapes(%a: tensor<70000xf32>, %b: tensor<4x4xbf16>) -> tensor<f32> {
  %g = off.neg %b : tensor<4x4xbf16>
  %n = off.global_norm %a, %g, %a : tensor<70000xf32>, tensor<4x4xbf16>, tensor<70000xf32> -> tensor<f32>
  return %n : tensor<f32>
}

// -----

// Near miss: a step without global_norm (a forward step, or one split
// already) is left as it is.
// CHECK-LABEL: func.func @split_already
// CHECK-NEXT: off.norm_partial
// CHECK-NEXT: off.norm_combine
// CHECK-NEXT: return
func.func @split_already(%a: tensor<8xf32>) -> tensor<f32> {
  %p = off.norm_partial %a : tensor<8xf32> -> tensor<1xf64>
  %n = off.norm_combine %p : tensor<1xf64> -> tensor<f32>
  return %n : tensor<f32>
}
