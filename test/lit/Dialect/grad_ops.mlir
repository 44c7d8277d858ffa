// RUN: off-opt %s | off-opt | FileCheck %s
// RUN: off-opt %s --mlir-print-op-generic | off-opt | FileCheck %s
// Round trip of every gradient op and the optimizer ops.

// Tests the backward ops of the fused LLM ops.
// CHECK-LABEL: func.func @fused_grads
func.func @fused_grads(%x: tensor<2x8x64xf32>, %w: tensor<64xf32>,
    %q: tensor<2x4x8x16xf32>, %k: tensor<2x2x8x16xf32>, %v: tensor<2x2x8x16xf32>,
    %cos: tensor<8x16xf32>, %sin: tensor<8x16xf32>, %ids: tensor<2x8xi32>,
    %logits: tensor<2x8x256xf32>, %dloss: tensor<f32>) {
  // CHECK: off.rms_norm_grad %{{.+}}, %{{.+}}, %{{.+}} {eps = 1.000000e-05 : f64} : (tensor<2x8x64xf32>, tensor<64xf32>, tensor<2x8x64xf32>) -> (tensor<2x8x64xf32>, tensor<64xf32>)
  %dx, %dw = off.rms_norm_grad %x, %w, %x {eps = 1.0e-05 : f64}
      : (tensor<2x8x64xf32>, tensor<64xf32>, tensor<2x8x64xf32>) -> (tensor<2x8x64xf32>, tensor<64xf32>)
  // CHECK: off.rope_grad %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8x16xf32>
  %dq = off.rope_grad %q, %cos, %sin
      : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: off.attention_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {causal} : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>)
  %gq, %gk, %gv = off.attention_grad %q, %k, %v, %q {causal}
      : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>)
      -> (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>)
  // CHECK: off.swiglu_grad %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x8x64xf32>
  %dg, %du = off.swiglu_grad %x, %x, %x : tensor<2x8x64xf32>
  // CHECK: off.embedding_grad %{{.+}}, %{{.+}} {vocab_size = 256 : i64} : (tensor<2x8xi32>, tensor<2x8x64xf32>) -> tensor<256x64xf32>
  %dt = off.embedding_grad %ids, %x {vocab_size = 256 : i64}
      : (tensor<2x8xi32>, tensor<2x8x64xf32>) -> tensor<256x64xf32>
  // CHECK: off.cross_entropy_grad %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x8x256xf32>, tensor<2x8xi32>, tensor<f32>) -> tensor<2x8x256xf32>
  %dl = off.cross_entropy_grad %logits, %ids, %dloss
      : (tensor<2x8x256xf32>, tensor<2x8xi32>, tensor<f32>) -> tensor<2x8x256xf32>
  return
}

// Tests the helpers of reverse mode.
// CHECK-LABEL: func.func @helpers
func.func @helpers(%y: tensor<4x256xf32>, %col: tensor<4x1xf32>, %part: tensor<2x8xf32>,
                   %idx: tensor<3xi64>, %rows: tensor<3x4xf32>) {
  // CHECK: off.softmax_grad %{{.+}}, %{{.+}} {axis = 1 : i64} : tensor<4x256xf32>
  %dx = off.softmax_grad %y, %y {axis = 1 : i64} : tensor<4x256xf32>
  // CHECK: off.broadcast_to %{{.+}} : tensor<4x1xf32> to tensor<4x256xf32>
  %b = off.broadcast_to %col : tensor<4x1xf32> to tensor<4x256xf32>
  // CHECK: off.slice_grad %{{.+}} {axis = 1 : i64, end = 16 : i64, start = 8 : i64} : tensor<2x8xf32> to tensor<2x16xf32>
  %s = off.slice_grad %part {axis = 1 : i64, start = 8 : i64, end = 16 : i64}
      : tensor<2x8xf32> to tensor<2x16xf32>
  // CHECK: off.gather_grad %{{.+}}, %{{.+}} {axis = 0 : i64} : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  %g = off.gather_grad %idx, %rows {axis = 0 : i64}
      : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  return
}

// Tests gradient clipping and the AdamW step, with and without clipping.
// CHECK-LABEL: func.func @optimizer
func.func @optimizer(%p: tensor<64x64xf32>, %g: tensor<64x64xf32>, %w: tensor<64xf32>) {
  // CHECK: %[[N:.+]] = off.global_norm %{{.+}}, %{{.+}} : tensor<64x64xf32>, tensor<64xf32> -> tensor<f32>
  %n = off.global_norm %g, %w : tensor<64x64xf32>, tensor<64xf32> -> tensor<f32>
  // CHECK: off.adam_step %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[N]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, max_grad_norm = 1.000000e+00 : f64, weight_decay = 0.000000e+00 : f64} : tensor<64x64xf32>, tensor<f32>
  %p2, %m2, %v2 = off.adam_step %p, %g, %g, %g, %n {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
      weight_decay = 0.0 : f64, max_grad_norm = 1.0 : f64} : tensor<64x64xf32>, tensor<f32>
  // CHECK: off.adam_step %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {{{.+}}} : tensor<64x64xf32>{{$}}
  %p3, %m3, %v3 = off.adam_step %p, %g, %g, %g {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
      weight_decay = 0.1 : f64} : tensor<64x64xf32>
  return
}

// Tests global_norm's two halves: block sums per tensor (65536 elements a
// block, so 70000 make 2 and 65536 make 1), f32 or bf16, and their combine.
// CHECK-LABEL: func.func @norm_halves
func.func @norm_halves(%a: tensor<70000xf32>, %b: tensor<256x256xbf16>) -> tensor<f32> {
  // CHECK: %[[A:.+]] = off.norm_partial %{{.+}} : tensor<70000xf32> -> tensor<2xf64>
  %pa = off.norm_partial %a : tensor<70000xf32> -> tensor<2xf64>
  // CHECK: %[[B:.+]] = off.norm_partial %{{.+}} : tensor<256x256xbf16> -> tensor<1xf64>
  %pb = off.norm_partial %b : tensor<256x256xbf16> -> tensor<1xf64>
  // CHECK: off.norm_combine %[[A]], %[[B]] : tensor<2xf64>, tensor<1xf64> -> tensor<f32>
  %n = off.norm_combine %pa, %pb : tensor<2xf64>, tensor<1xf64> -> tensor<f32>
  return %n : tensor<f32>
}

// Tests the mixed-precision AdamW step: a bf16 gradient (read as f32) and a
// bf16 compute copy written with the master, with and without the norm.
// CHECK-LABEL: func.func @mixed_optimizer
func.func @mixed_optimizer(%p: tensor<64x64xf32>, %g: tensor<64x64xbf16>, %c: tensor<64x64xbf16>,
                           %n: tensor<f32>) {
  // CHECK: %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} = off.adam_step %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} copy %{{.+}} {{{.+}}} : tensor<64x64xf32>, tensor<f32>, grad tensor<64x64xbf16>, copy tensor<64x64xbf16>
  %r:4 = off.adam_step %p, %g, %p, %p, %n copy %c {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
      weight_decay = 0.1 : f64, max_grad_norm = 1.0 : f64}
      : tensor<64x64xf32>, tensor<f32>, grad tensor<64x64xbf16>, copy tensor<64x64xbf16>
  // CHECK: %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} = off.adam_step %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} copy %{{.+}} {{{.+}}} : tensor<64x64xf32>, copy tensor<64x64xbf16>{{$}}
  %s:4 = off.adam_step %p, %p, %p, %p copy %c {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
      weight_decay = 0.1 : f64} : tensor<64x64xf32>, copy tensor<64x64xbf16>
  // CHECK: off.adam_step %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {{{.+}}} : tensor<64x64xf32>, grad tensor<64x64xbf16>{{$}}
  %t:3 = off.adam_step %p, %g, %p, %p {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
      weight_decay = 0.1 : f64} : tensor<64x64xf32>, grad tensor<64x64xbf16>
  return
}
