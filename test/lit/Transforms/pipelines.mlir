// RUN: off-opt --split-input-file --off-import %s | FileCheck %s --check-prefix=IMPORT
// RUN: off-opt --split-input-file --off-compile="grad-accum=2 lr=0.25 clip=0" %s | FileCheck %s --check-prefix=COMPILE
// RUN: off-opt --split-input-file --off-compile="forward=true" %s | FileCheck %s --check-prefix=FORWARD

// The registered pipelines offc runs: off-import (off-fold-shapes, then
// off-fuse-llm) after a frontend, and off-compile (the same, then
// off-autodiff unless forward) in offc compile.

// Tests one module through the three: a static-shape dynamo export's
// attention with repeated key heads (k^T through a [B*H, S, D] view, which
// off-fold-shapes turns into a transpose that off-fuse-llm then reads).
// IMPORT-LABEL: func.func @forward
// IMPORT-NOT: off.softmax
// IMPORT: off.attention %{{.+}}, %{{.+}}, %{{.+}} {causal} : (tensor<1x4x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x4x3x2xf32>
// COMPILE-LABEL: func.func @train_step
// COMPILE-SAME: tensor<2x1x3xi32>
// COMPILE: off.attention_grad
// COMPILE: off.adam_step {{.*}}lr = 2.500000e-01
// COMPILE-NOT: max_grad_norm
// FORWARD-LABEL: func.func @forward
// FORWARD: off.attention
// FORWARD-NOT: off.adam_step
func.func @forward(%ids: tensor<1x3xi32>) -> tensor<1x3x16xf32> {
  %table = off.param "embed" {trainable} : tensor<16x8xf32>
  %x = off.embedding %table, %ids : (tensor<16x8xf32>, tensor<1x3xi32>) -> tensor<1x3x8xf32>
  %q4 = off.reshape %x : tensor<1x3x8xf32> to tensor<1x3x4x2xf32>
  %q = off.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x4x2xf32>) -> tensor<1x4x3x2xf32>
  %wk = off.param "wk" {trainable} : tensor<8x4xf32>
  %kl = off.matmul %x, %wk : (tensor<1x3x8xf32>, tensor<8x4xf32>) -> tensor<1x3x4xf32>
  %k4 = off.reshape %kl : tensor<1x3x4xf32> to tensor<1x3x2x2xf32>
  %k = off.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x2xf32>) -> tensor<1x2x3x2xf32>
  %k5 = off.reshape %k : tensor<1x2x3x2xf32> to tensor<1x2x1x3x2xf32>
  %kb = off.broadcast_to %k5 : tensor<1x2x1x3x2xf32> to tensor<1x2x2x3x2xf32>
  %kv = off.reshape %kb : tensor<1x2x2x3x2xf32> to tensor<4x3x2xf32>
  %ktv = off.transpose %kv {perm = array<i64: 0, 2, 1>} : (tensor<4x3x2xf32>) -> tensor<4x2x3xf32>
  %kt = off.reshape %ktv : tensor<4x2x3xf32> to tensor<1x4x2x3xf32>
  %vb = off.reshape %kb : tensor<1x2x2x3x2xf32> to tensor<1x4x3x2xf32>
  %s = off.matmul %q, %kt : (tensor<1x4x3x2xf32>, tensor<1x4x2x3xf32>) -> tensor<1x4x3x3xf32>
  %scale = off.constant dense<0.707106769> : tensor<f32>
  %ss = off.mul %s, %scale : (tensor<1x4x3x3xf32>, tensor<f32>) -> tensor<1x4x3x3xf32>
  %mask = off.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m = off.add %ss, %mask : (tensor<1x4x3x3xf32>, tensor<3x3xf32>) -> tensor<1x4x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x4x3x3xf32>
  %o = off.matmul %p, %vb : (tensor<1x4x3x3xf32>, tensor<1x4x3x2xf32>) -> tensor<1x4x3x2xf32>
  %ot = off.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x3x2xf32>) -> tensor<1x3x4x2xf32>
  %h = off.reshape %ot : tensor<1x3x4x2xf32> to tensor<1x3x8xf32>
  %logits = off.matmul %h, %table {transpose_rhs = true} : (tensor<1x3x8xf32>, tensor<16x8xf32>) -> tensor<1x3x16xf32>
  return %logits : tensor<1x3x16xf32>
}
