// RUN: off-opt --split-input-file --off-autodiff %s | FileCheck %s
// RUN: off-opt --split-input-file --off-autodiff='grad-accum=2 clip=0 lr=0.02 beta1=0.8 beta2=0.95 eps=1e-6 weight-decay=0.1' %s | FileCheck %s --check-prefix=ACCUM
// RUN: off-opt --split-input-file --off-autodiff='clip=0.5' %s | FileCheck %s --check-prefix=CLIP

// Tests that a Linear layer with a bias over a frozen embedding gets the
// step signature, the loss, dW from one matmul over the flattened B*T rows,
// the bias gradient summed over the broadcast dims, and one AdamW step per
// trainable param (none for the frozen one, which gets no gradient).
// With grad-accum=2 (ACCUM) each micro-batch is sliced out of the [K, B, T]
// inputs, its loss and gradients are summed, the loss is divided by K, the
// backward is seeded with 1/K and the optimizer options reach adam_step; with
// clip=0 there is no max_grad_norm.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[IDS:.+]]: tensor<1x2x4xi32> {off.name = "input_ids"}, %[[TGT:.+]]: tensor<1x2x4xi32> {off.name = "targets"})
// CHECK-SAME: -> (tensor<f32> {off.name = "loss"}, tensor<f32> {off.name = "grad_norm"})
// CHECK-NEXT: %[[E:.+]] = off.param "embed" : tensor<16x8xf32>
// CHECK-NEXT: %[[W:.+]] = off.param "head.weight" {trainable} : tensor<16x8xf32>
// CHECK-NEXT: %[[B:.+]] = off.param "head.bias" {trainable} : tensor<16xf32>
// CHECK-NEXT: %[[DLOSS:.+]] = off.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[I0:.+]] = off.reshape %[[IDS]] : tensor<1x2x4xi32> to tensor<2x4xi32>
// CHECK-NEXT: %[[T0:.+]] = off.reshape %[[TGT]] : tensor<1x2x4xi32> to tensor<2x4xi32>
// CHECK-NEXT: %[[X:.+]] = off.embedding %[[E]], %[[I0]]
// CHECK-NEXT: %[[Y:.+]] = off.matmul %[[X]], %[[W]] {transpose_rhs = true}
// CHECK-NEXT: %[[Z:.+]] = off.add %[[Y]], %[[B]]
// CHECK-NEXT: %[[LOSS:.+]] = off.cross_entropy %[[Z]], %[[T0]] : (tensor<2x4x16xf32>, tensor<2x4xi32>) -> tensor<f32>
// CHECK-NEXT: %[[DZ:.+]] = off.cross_entropy_grad %[[Z]], %[[T0]], %[[DLOSS]]
// CHECK-NEXT: %[[DB:.+]] = off.reduce_sum %[[DZ]] {axes = array<i64: 0, 1>} : (tensor<2x4x16xf32>) -> tensor<16xf32>
// CHECK-NEXT: %[[X2:.+]] = off.reshape %[[X]] : tensor<2x4x8xf32> to tensor<8x8xf32>
// CHECK-NEXT: %[[DZ2:.+]] = off.reshape %[[DZ]] : tensor<2x4x16xf32> to tensor<8x16xf32>
// CHECK-NEXT: %[[DW:.+]] = off.matmul %[[DZ2]], %[[X2]] {transpose_lhs = true} : (tensor<8x16xf32>, tensor<8x8xf32>) -> tensor<16x8xf32>
// CHECK-NEXT: %[[NORM:.+]] = off.global_norm %[[DW]], %[[DB]] : tensor<16x8xf32>, tensor<16xf32> -> tensor<f32>
// CHECK-NEXT: %[[MW:.+]] = off.state "head.weight.exp_avg" : tensor<16x8xf32>
// CHECK-NEXT: %[[VW:.+]] = off.state "head.weight.exp_avg_sq" : tensor<16x8xf32>
// CHECK-NEXT: off.adam_step %[[W]], %[[DW]], %[[MW]], %[[VW]], %[[NORM]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, max_grad_norm = 1.000000e+00 : f64, weight_decay = 1.000000e-02 : f64} : tensor<16x8xf32>, tensor<f32>
// CHECK-NEXT: %[[MB:.+]] = off.state "head.bias.exp_avg" : tensor<16xf32>
// CHECK-NEXT: %[[VB:.+]] = off.state "head.bias.exp_avg_sq" : tensor<16xf32>
// CHECK-NEXT: off.adam_step %[[B]], %[[DB]], %[[MB]], %[[VB]], %[[NORM]]
// CHECK-NOT: embed.exp_avg
// CHECK-NEXT: return %[[LOSS]], %[[NORM]] : tensor<f32>, tensor<f32>

// ACCUM-LABEL: func.func @train_step
// ACCUM-SAME: (%[[IDS:.+]]: tensor<2x2x4xi32> {off.name = "input_ids"}, %[[TGT:.+]]: tensor<2x2x4xi32> {off.name = "targets"})
// ACCUM: %[[W:.+]] = off.param "head.weight" {trainable}
// ACCUM-NEXT: %[[B:.+]] = off.param "head.bias" {trainable}
// ACCUM-NEXT: %[[DLOSS:.+]] = off.constant dense<5.000000e-01> : tensor<f32>
// ACCUM-NEXT: %[[IS0:.+]] = off.slice %[[IDS]] {axis = 0 : i64, end = 1 : i64, start = 0 : i64} : (tensor<2x2x4xi32>) -> tensor<1x2x4xi32>
// ACCUM-NEXT: %[[I0:.+]] = off.reshape %[[IS0]] : tensor<1x2x4xi32> to tensor<2x4xi32>
// ACCUM-NEXT: %[[TS0:.+]] = off.slice %[[TGT]] {axis = 0 : i64, end = 1 : i64, start = 0 : i64}
// ACCUM-NEXT: %[[T0:.+]] = off.reshape %[[TS0]]
// ACCUM: %[[Z0:.+]] = off.add
// ACCUM-NEXT: %[[L0:.+]] = off.cross_entropy %[[Z0]], %[[T0]]
// ACCUM-NEXT: off.cross_entropy_grad %[[Z0]], %[[T0]], %[[DLOSS]]
// ACCUM-NEXT: %[[DB0:.+]] = off.reduce_sum
// ACCUM: %[[DW0:.+]] = off.matmul
// ACCUM-NEXT: %[[IS1:.+]] = off.slice %[[IDS]] {axis = 0 : i64, end = 2 : i64, start = 1 : i64}
// ACCUM-NEXT: %[[I1:.+]] = off.reshape %[[IS1]]
// ACCUM-NEXT: %[[TS1:.+]] = off.slice %[[TGT]] {axis = 0 : i64, end = 2 : i64, start = 1 : i64}
// ACCUM-NEXT: %[[T1:.+]] = off.reshape %[[TS1]]
// ACCUM-NEXT: %[[X1:.+]] = off.embedding %{{.+}}, %[[I1]]
// ACCUM: %[[Z1:.+]] = off.add
// ACCUM-NEXT: %[[L1:.+]] = off.cross_entropy %[[Z1]], %[[T1]]
// ACCUM-NEXT: %[[LSUM:.+]] = off.add %[[L0]], %[[L1]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
// ACCUM-NEXT: off.cross_entropy_grad %[[Z1]], %[[T1]], %[[DLOSS]]
// ACCUM-NEXT: %[[DB1:.+]] = off.reduce_sum
// ACCUM: %[[DW1:.+]] = off.matmul
// ACCUM-NEXT: %[[DW:.+]] = off.add %[[DW0]], %[[DW1]]
// ACCUM-NEXT: %[[DB:.+]] = off.add %[[DB0]], %[[DB1]]
// ACCUM-NEXT: %[[K:.+]] = off.constant dense<2.000000e+00> : tensor<f32>
// ACCUM-NEXT: %[[LOSS:.+]] = off.div %[[LSUM]], %[[K]]
// ACCUM-NEXT: %[[NORM:.+]] = off.global_norm %[[DW]], %[[DB]]
// ACCUM-NEXT: off.state
// ACCUM-NEXT: off.state
// ACCUM-NEXT: off.adam_step %[[W]], %[[DW]], %{{.+}}, %{{.+}}, %[[NORM]] {beta1 = 8.000000e-01 : f64, beta2 = 0.94999999999999996 : f64, eps = 9.9999999999999995E-7 : f64, lr = 2.000000e-02 : f64, weight_decay = 1.000000e-01 : f64} : tensor<16x8xf32>, tensor<f32>
// ACCUM-NEXT: off.state
// ACCUM-NEXT: off.state
// ACCUM-NEXT: off.adam_step %[[B]], %[[DB]]
// ACCUM-NEXT: return %[[LOSS]], %[[NORM]]

// CLIP-LABEL: func.func @train_step
// CLIP: off.adam_step {{.+}} max_grad_norm = 5.000000e-01 : f64
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" : tensor<16x8xf32>
  %x = off.embedding %e, %ids : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %w = off.param "head.weight" {trainable} : tensor<16x8xf32>
  %y = off.matmul %x, %w {transpose_rhs = true}
      : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %b = off.param "head.bias" {trainable} : tensor<16xf32>
  %z = off.add %y, %b : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  return %z : tensor<2x4x16xf32>
}

// -----

// Tests that operands broadcast by mul and sub get their gradients summed
// back: over a leading dim (kept as 1: reduce_sum keepdims), over a leading
// and a stretched dim (reduce_sum, then reshape), and negated for sub.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[E:.+]] = off.param "embed" {trainable} : tensor<16x16xf32>
// CHECK-NEXT: %[[S:.+]] = off.param "scale" {trainable} : tensor<4x1xf32>
// CHECK-NEXT: %[[C:.+]] = off.param "shift" {trainable} : tensor<1x4x16xf32>
// CHECK: %[[X:.+]] = off.embedding %[[E]], %[[I0:.+]] :
// CHECK: %[[DZ:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DC1:.+]] = off.reduce_sum %[[DZ]] {axes = array<i64: 0>, keepdims = true} : (tensor<2x4x16xf32>) -> tensor<1x4x16xf32>
// CHECK-NEXT: %[[DC:.+]] = off.neg %[[DC1]] : tensor<1x4x16xf32>
// CHECK-NEXT: %[[DX:.+]] = off.mul %[[DZ]], %[[S]] : (tensor<2x4x16xf32>, tensor<4x1xf32>) -> tensor<2x4x16xf32>
// CHECK-NEXT: %[[DSF:.+]] = off.mul %[[DZ]], %[[X]] : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NEXT: %[[DS1:.+]] = off.reduce_sum %[[DSF]] {axes = array<i64: 0, 2>} : (tensor<2x4x16xf32>) -> tensor<4xf32>
// CHECK-NEXT: %[[DS:.+]] = off.reshape %[[DS1]] : tensor<4xf32> to tensor<4x1xf32>
// CHECK-NEXT: %[[DE:.+]] = off.embedding_grad %[[I0]], %[[DX]] {vocab_size = 16 : i64}
// CHECK-NEXT: off.global_norm %[[DE]], %[[DS]], %[[DC]] : tensor<16x16xf32>, tensor<4x1xf32>, tensor<1x4x16xf32> -> tensor<f32>
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  %s = off.param "scale" {trainable} : tensor<4x1xf32>
  %z = off.mul %x, %s : (tensor<2x4x16xf32>, tensor<4x1xf32>) -> tensor<2x4x16xf32>
  %c = off.param "shift" {trainable} : tensor<1x4x16xf32>
  %y = off.sub %z, %c : (tensor<2x4x16xf32>, tensor<1x4x16xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests that the gradients of a value used several times are summed with
// off.add in the order the uses are met walking backwards: the residual
// input x (add, then matmul) and a weight tied between the embedding and the
// output head (head, then embedding).
// CHECK-LABEL: func.func @train_step
// CHECK: %[[E:.+]] = off.param "embed" {trainable} : tensor<16x8xf32>
// CHECK-NEXT: %[[WA:.+]] = off.param "a.weight" {trainable} : tensor<8x8xf32>
// CHECK: %[[X:.+]] = off.embedding %[[E]], %[[I0:.+]] :
// CHECK-NEXT: %[[A:.+]] = off.matmul %[[X]], %[[WA]] {transpose_rhs = true}
// CHECK-NEXT: %[[H:.+]] = off.add %[[A]], %[[X]]
// CHECK-NEXT: %[[Y:.+]] = off.matmul %[[H]], %[[E]] {transpose_rhs = true}
// CHECK: %[[DY:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DH:.+]] = off.matmul %[[DY]], %[[E]] : (tensor<2x4x16xf32>, tensor<16x8xf32>) -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[H2:.+]] = off.reshape %[[H]]
// CHECK-NEXT: %[[DY2:.+]] = off.reshape %[[DY]]
// CHECK-NEXT: %[[DE_HEAD:.+]] = off.matmul %[[DY2]], %[[H2]] {transpose_lhs = true}
// CHECK-NEXT: %[[DX_A:.+]] = off.matmul %[[DH]], %[[WA]] :
// CHECK-NEXT: %[[X2:.+]] = off.reshape %[[X]]
// CHECK-NEXT: %[[DH2:.+]] = off.reshape %[[DH]]
// CHECK-NEXT: %[[DWA:.+]] = off.matmul %[[DH2]], %[[X2]] {transpose_lhs = true}
// CHECK-NEXT: %[[DX:.+]] = off.add %[[DH]], %[[DX_A]] : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[DE_EMB:.+]] = off.embedding_grad %[[I0]], %[[DX]] {vocab_size = 16 : i64}
// CHECK-NEXT: %[[DE:.+]] = off.add %[[DE_HEAD]], %[[DE_EMB]] : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
// CHECK-NEXT: off.global_norm %[[DE]], %[[DWA]]
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x8xf32>
  %wa = off.param "a.weight" {trainable} : tensor<8x8xf32>
  %x = off.embedding %e, %ids : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %a = off.matmul %x, %wa {transpose_rhs = true}
      : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %h = off.add %a, %x : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %y = off.matmul %h, %e {transpose_rhs = true}
      : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests that rms_norm and swiglu become rms_norm_grad and swiglu_grad, each
// gradient going to the right operand.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[E:.+]] = off.param "embed" {trainable}
// CHECK-NEXT: %[[W:.+]] = off.param "norm.weight" {trainable} : tensor<16xf32>
// CHECK: %[[X:.+]] = off.embedding %[[E]], %[[I0:.+]] :
// CHECK-NEXT: %[[N:.+]] = off.rms_norm %[[X]], %[[W]] {eps = 1.000000e-05 : f64}
// CHECK-NEXT: %[[S:.+]] = off.swiglu %[[N]], %[[X]]
// CHECK: %[[DS:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DG:.+]], %[[DU:.+]] = off.swiglu_grad %[[N]], %[[X]], %[[DS]] : tensor<2x4x16xf32>
// CHECK-NEXT: %[[DXN:.+]], %[[DW:.+]] = off.rms_norm_grad %[[X]], %[[W]], %[[DG]] {eps = 1.000000e-05 : f64} : (tensor<2x4x16xf32>, tensor<16xf32>, tensor<2x4x16xf32>) -> (tensor<2x4x16xf32>, tensor<16xf32>)
// CHECK-NEXT: %[[DX:.+]] = off.add %[[DU]], %[[DXN]]
// CHECK-NEXT: %[[DE:.+]] = off.embedding_grad %[[I0]], %[[DX]]
// CHECK-NEXT: off.global_norm %[[DE]], %[[DW]]
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %w = off.param "norm.weight" {trainable} : tensor<16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  %n = off.rms_norm %x, %w {eps = 1.0e-05 : f64}
      : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %s = off.swiglu %n, %x : tensor<2x4x16xf32>
  return %s : tensor<2x4x16xf32>
}

// -----

// Tests that rope and causal GQA attention become rope_grad and
// attention_grad (cos/sin are constants: no gradient), and that transposes
// and reshapes get their inverses.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[E:.+]] = off.param "embed" {trainable}
// CHECK-NEXT: %[[WK:.+]] = off.param "k.weight" {trainable} : tensor<8x16xf32>
// CHECK-NEXT: %[[COS:.+]] = off.constant
// CHECK-NEXT: %[[SIN:.+]] = off.constant
// CHECK: %[[QT:.+]] = off.transpose %{{.+}} {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK: %[[KT:.+]] = off.transpose %{{.+}} {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x1x8xf32>) -> tensor<1x1x4x8xf32>
// CHECK-NEXT: %[[QR:.+]] = off.rope %[[QT]], %[[COS]], %[[SIN]]
// CHECK-NEXT: %[[KR:.+]] = off.rope %[[KT]], %[[COS]], %[[SIN]]
// CHECK-NEXT: %[[O:.+]] = off.attention %[[QR]], %[[KR]], %[[KT]] {causal}
// CHECK: %[[DY:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DY4:.+]] = off.reshape %[[DY]] : tensor<1x4x16xf32> to tensor<1x4x2x8xf32>
// CHECK-NEXT: %[[DO:.+]] = off.transpose %[[DY4]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NEXT: %[[DQ:.+]], %[[DK:.+]], %[[DV:.+]] = off.attention_grad %[[QR]], %[[KR]], %[[KT]], %[[DO]] {causal}
// CHECK-NEXT: %[[DKT:.+]] = off.rope_grad %[[DK]], %[[COS]], %[[SIN]] : (tensor<1x1x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<1x1x4x8xf32>
// CHECK-NEXT: %[[DKSUM:.+]] = off.add %[[DV]], %[[DKT]] : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
// CHECK-NEXT: %[[DQT:.+]] = off.rope_grad %[[DQ]], %[[COS]], %[[SIN]]
// CHECK-NEXT: %[[DK4:.+]] = off.transpose %[[DKSUM]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x1x4x8xf32>) -> tensor<1x4x1x8xf32>
// CHECK-NEXT: off.reshape %[[DK4]] : tensor<1x4x1x8xf32> to tensor<1x4x8xf32>
// CHECK-NOT: off.rope_grad
// CHECK: off.global_norm
func.func @forward(%ids: tensor<1x4xi32>) -> tensor<1x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %wk = off.param "k.weight" {trainable} : tensor<8x16xf32>
  %cos = off.constant dense<1.0> : tensor<4x8xf32>
  %sin = off.constant dense<0.5> : tensor<4x8xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<1x4xi32>) -> tensor<1x4x16xf32>
  %q4 = off.reshape %x : tensor<1x4x16xf32> to tensor<1x4x2x8xf32>
  %qt = off.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x8xf32>) -> tensor<1x2x4x8xf32>
  %k = off.matmul %x, %wk {transpose_rhs = true} : (tensor<1x4x16xf32>, tensor<8x16xf32>) -> tensor<1x4x8xf32>
  %k4 = off.reshape %k : tensor<1x4x8xf32> to tensor<1x4x1x8xf32>
  %kt = off.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x1x8xf32>) -> tensor<1x1x4x8xf32>
  %qr = off.rope %qt, %cos, %sin : (tensor<1x2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4x8xf32>
  %kr = off.rope %kt, %cos, %sin : (tensor<1x1x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<1x1x4x8xf32>
  %o = off.attention %qr, %kr, %kt {causal}
      : (tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x4x8xf32>
  %ot = off.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x4x8xf32>) -> tensor<1x4x2x8xf32>
  %y = off.reshape %ot : tensor<1x4x2x8xf32> to tensor<1x4x16xf32>
  return %y : tensor<1x4x16xf32>
}

// -----

// Tests softmax, slice, concat, gather, reduce_mean and reduce_sum:
// softmax_grad, slice_grad, slices of the concat gradient, gather_grad, and
// broadcast_to (after a division by the count for the mean).
// CHECK-LABEL: func.func @train_step
// CHECK: %[[E:.+]] = off.param "embed" {trainable} : tensor<16x16xf32>
// CHECK-NEXT: %[[IDX:.+]] = off.constant dense<[3, 1]> : tensor<2xi64>
// CHECK: %[[P:.+]] = off.softmax %{{.+}} {axis = 2 : i64}
// CHECK: %[[DY:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DGS:.+]] = off.reduce_sum %[[DY]] {axes = array<i64: 0, 1, 2>} : (tensor<2x4x16xf32>) -> tensor<f32>
// CHECK-NEXT: %[[DR:.+]] = off.reduce_sum %[[DY]] {axes = array<i64: 2>, keepdims = true} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
// CHECK-NEXT: %[[DR2:.+]] = off.neg %[[DR]]
// CHECK-NEXT: %[[DGS2:.+]] = off.reshape %[[DGS]] : tensor<f32> to tensor<1x1xf32>
// CHECK-NEXT: %[[DGB:.+]] = off.broadcast_to %[[DGS2]] : tensor<1x1xf32> to tensor<2x16xf32>
// CHECK-NEXT: %[[DE_G:.+]] = off.gather_grad %[[IDX]], %[[DGB]] {axis = 0 : i64} : (tensor<2xi64>, tensor<2x16xf32>) -> tensor<16x16xf32>
// CHECK-NEXT: %[[CNT:.+]] = off.constant dense<1.600000e+01> : tensor<f32>
// CHECK-NEXT: %[[DRM:.+]] = off.div %[[DR2]], %[[CNT]]
// CHECK-NEXT: %[[DRB:.+]] = off.broadcast_to %[[DRM]] : tensor<2x4x1xf32> to tensor<2x4x16xf32>
// CHECK-NEXT: %[[DC:.+]] = off.add %[[DY]], %[[DRB]]
// CHECK-NEXT: %[[DB:.+]] = off.slice %[[DC]] {axis = 2 : i64, end = 8 : i64, start = 0 : i64}
// CHECK-NEXT: %[[DA:.+]] = off.slice %[[DC]] {axis = 2 : i64, end = 16 : i64, start = 8 : i64}
// CHECK-NEXT: %[[DPB:.+]] = off.slice_grad %[[DB]] {axis = 2 : i64, end = 16 : i64, start = 8 : i64} : tensor<2x4x8xf32> to tensor<2x4x16xf32>
// CHECK-NEXT: %[[DPA:.+]] = off.slice_grad %[[DA]] {axis = 2 : i64, end = 8 : i64, start = 0 : i64} : tensor<2x4x8xf32> to tensor<2x4x16xf32>
// CHECK-NEXT: %[[DP:.+]] = off.add %[[DPB]], %[[DPA]]
// CHECK-NEXT: %[[DX:.+]] = off.softmax_grad %[[P]], %[[DP]] {axis = 2 : i64} : tensor<2x4x16xf32>
// CHECK-NEXT: %[[DE_X:.+]] = off.embedding_grad %{{.+}}, %[[DX]]
// CHECK-NEXT: off.add %[[DE_G]], %[[DE_X]] : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %idx = off.constant dense<[3, 1]> : tensor<2xi64>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  %p = off.softmax %x {axis = 2 : i64} : tensor<2x4x16xf32>
  %a = off.slice %p {axis = 2 : i64, start = 0 : i64, end = 8 : i64} : (tensor<2x4x16xf32>) -> tensor<2x4x8xf32>
  %b = off.slice %p {axis = 2 : i64, start = 8 : i64, end = 16 : i64} : (tensor<2x4x16xf32>) -> tensor<2x4x8xf32>
  %c = off.concat %b, %a {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
  %m = off.reduce_mean %c {axes = array<i64: 2>, keepdims = true} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %g = off.gather %e, %idx {axis = 0 : i64} : (tensor<16x16xf32>, tensor<2xi64>) -> tensor<2x16xf32>
  %gs = off.reduce_sum %g {axes = array<i64: 0, 1>} : (tensor<2x16xf32>) -> tensor<f32>
  %d = off.sub %c, %m : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %y = off.add %d, %gs : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests the element-wise rules as PyTorch writes them: div (grad / other and
// -grad * ((self / other) / other)), exp (grad * result), sqrt
// (grad / (2 * result)), rsqrt (-0.5 * grad * result^3), sigmoid
// (grad * (1 - y) * y), silu (grad * s * (1 + x * (1 - s))), neg and casts.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[X:.+]] = off.embedding
// CHECK-NEXT: %[[A:.+]] = off.exp %[[X]]
// CHECK-NEXT: %[[B:.+]] = off.sqrt %[[A]]
// CHECK-NEXT: %[[C:.+]] = off.rsqrt %[[A]]
// CHECK-NEXT: %[[D:.+]] = off.div %[[B]], %[[C]]
// CHECK-NEXT: %[[S:.+]] = off.sigmoid %[[D]]
// CHECK-NEXT: %[[F:.+]] = off.silu %[[S]]
// CHECK-NEXT: %[[G:.+]] = off.neg %[[F]]
// CHECK-NEXT: %[[H:.+]] = off.cast %[[G]] : tensor<2x4x16xf32> to tensor<2x4x16xbf16>
// CHECK-NEXT: %[[Y:.+]] = off.cast %[[H]] : tensor<2x4x16xbf16> to tensor<2x4x16xf32>
// CHECK: %[[DY:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DH:.+]] = off.cast %[[DY]] : tensor<2x4x16xf32> to tensor<2x4x16xbf16>
// CHECK-NEXT: %[[DG:.+]] = off.cast %[[DH]] : tensor<2x4x16xbf16> to tensor<2x4x16xf32>
// CHECK-NEXT: %[[DF:.+]] = off.neg %[[DG]]
// CHECK-NEXT: %[[SS:.+]] = off.sigmoid %[[S]]
// CHECK-NEXT: %[[ONE:.+]] = off.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[T1:.+]] = off.sub %[[ONE]], %[[SS]]
// CHECK-NEXT: %[[T2:.+]] = off.mul %[[S]], %[[T1]]
// CHECK-NEXT: %[[T3:.+]] = off.add %[[ONE]], %[[T2]]
// CHECK-NEXT: %[[T4:.+]] = off.mul %[[DF]], %[[SS]]
// CHECK-NEXT: %[[DS:.+]] = off.mul %[[T4]], %[[T3]]
// CHECK-NEXT: %[[ONE2:.+]] = off.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[U1:.+]] = off.sub %[[ONE2]], %[[S]] :
// CHECK-NEXT: %[[U2:.+]] = off.mul %[[DS]], %[[U1]]
// CHECK-NEXT: %[[DD:.+]] = off.mul %[[U2]], %[[S]]
// CHECK-NEXT: %[[DB:.+]] = off.div %[[DD]], %[[C]]
// CHECK-NEXT: %[[NDD:.+]] = off.neg %[[DD]]
// CHECK-NEXT: %[[Q:.+]] = off.div %[[D]], %[[C]]
// CHECK-NEXT: %[[DC:.+]] = off.mul %[[NDD]], %[[Q]]
// CHECK-NEXT: %[[CUBE1:.+]] = off.mul %[[C]], %[[C]]
// CHECK-NEXT: %[[CUBE:.+]] = off.mul %[[CUBE1]], %[[C]]
// CHECK-NEXT: %[[HALF:.+]] = off.constant dense<-5.000000e-01> : tensor<f32>
// CHECK-NEXT: %[[R1:.+]] = off.mul %[[HALF]], %[[DC]]
// CHECK-NEXT: %[[DA_C:.+]] = off.mul %[[R1]], %[[CUBE]]
// CHECK-NEXT: %[[TWO:.+]] = off.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[TWOB:.+]] = off.mul %[[TWO]], %[[B]]
// CHECK-NEXT: %[[DA_B:.+]] = off.div %[[DB]], %[[TWOB]]
// CHECK-NEXT: %[[DA:.+]] = off.add %[[DA_C]], %[[DA_B]]
// CHECK-NEXT: %[[DX:.+]] = off.mul %[[DA]], %[[A]]
// CHECK-NEXT: off.embedding_grad %{{.+}}, %[[DX]]
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  %a = off.exp %x : tensor<2x4x16xf32>
  %b = off.sqrt %a : tensor<2x4x16xf32>
  %c = off.rsqrt %a : tensor<2x4x16xf32>
  %d = off.div %b, %c : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %s = off.sigmoid %d : tensor<2x4x16xf32>
  %f = off.silu %s : tensor<2x4x16xf32>
  %g = off.neg %f : tensor<2x4x16xf32>
  %h = off.cast %g : tensor<2x4x16xf32> to tensor<2x4x16xbf16>
  %y = off.cast %h : tensor<2x4x16xbf16> to tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests matmul with transpose_lhs and transpose_rhs and with broadcast batch
// dims: the gradients are written in each operand's stored layout and the
// broadcast batch dims are summed (keepdims for a size-1 batch dim).
// CHECK-LABEL: func.func @train_step
// CHECK: %[[E:.+]] = off.param "embed" {trainable} : tensor<16x16xf32>
// CHECK-NEXT: %[[W:.+]] = off.param "w" {trainable} : tensor<16x16xf32>
// CHECK-NEXT: %[[V:.+]] = off.param "v" {trainable} : tensor<1x16x16xf32>
// CHECK: %[[XT:.+]] = off.transpose %{{.+}} {perm = array<i64: 0, 2, 1>} : (tensor<2x4x16xf32>) -> tensor<2x16x4xf32>
// CHECK-NEXT: %[[Y:.+]] = off.matmul %[[XT]], %[[W]] {transpose_lhs = true, transpose_rhs = true}
// CHECK-NEXT: %[[Z:.+]] = off.matmul %[[Y]], %[[V]] :
// CHECK: %[[DZ:.+]] = off.cross_entropy_grad
// CHECK-NEXT: %[[DY:.+]] = off.matmul %[[DZ]], %[[V]] {transpose_rhs = true} : (tensor<2x4x16xf32>, tensor<1x16x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NEXT: %[[DVB:.+]] = off.matmul %[[Y]], %[[DZ]] {transpose_lhs = true} : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x16x16xf32>
// CHECK-NEXT: %[[DV:.+]] = off.reduce_sum %[[DVB]] {axes = array<i64: 0>, keepdims = true} : (tensor<2x16x16xf32>) -> tensor<1x16x16xf32>
// CHECK-NEXT: %[[DXT:.+]] = off.matmul %[[W]], %[[DY]] {transpose_lhs = true, transpose_rhs = true} : (tensor<16x16xf32>, tensor<2x4x16xf32>) -> tensor<2x16x4xf32>
// CHECK-NEXT: %[[DWB:.+]] = off.matmul %[[DY]], %[[XT]] {transpose_lhs = true, transpose_rhs = true} : (tensor<2x4x16xf32>, tensor<2x16x4xf32>) -> tensor<2x16x16xf32>
// CHECK-NEXT: %[[DW:.+]] = off.reduce_sum %[[DWB]] {axes = array<i64: 0>} : (tensor<2x16x16xf32>) -> tensor<16x16xf32>
// CHECK-NEXT: off.transpose %[[DXT]] {perm = array<i64: 0, 2, 1>}
// CHECK: off.global_norm %{{.+}}, %[[DW]], %[[DV]]
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %w = off.param "w" {trainable} : tensor<16x16xf32>
  %v = off.param "v" {trainable} : tensor<1x16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  %xt = off.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x4x16xf32>) -> tensor<2x16x4xf32>
  %y = off.matmul %xt, %w {transpose_lhs = true, transpose_rhs = true}
      : (tensor<2x16x4xf32>, tensor<16x16xf32>) -> tensor<2x4x16xf32>
  %z = off.matmul %y, %v : (tensor<2x4x16xf32>, tensor<1x16x16xf32>) -> tensor<2x4x16xf32>
  return %z : tensor<2x4x16xf32>
}

// -----

// Tests that integer and constant paths get no gradient: an integer cast of
// the ids feeds a gather, and a constant bias is added to the logits.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[DY:.+]] = off.cross_entropy_grad
// CHECK-NOT: off.reduce_sum
// CHECK-NOT: off.cast
// CHECK: off.embedding_grad %{{.+}}, %[[DY]]
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %bias = off.constant dense<0.5> : tensor<16xf32>
  %ids64 = off.cast %ids : tensor<2x4xi32> to tensor<2x4xi64>
  %x = off.embedding %e, %ids64 : (tensor<16x16xf32>, tensor<2x4xi64>) -> tensor<2x4x16xf32>
  %y = off.add %x, %bias : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}
