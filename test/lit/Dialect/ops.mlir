// RUN: off-opt %s | off-opt | FileCheck %s
// RUN: off-opt %s --mlir-print-op-generic | off-opt | FileCheck %s
// Round trip of every off op: printed form parses back to the same IR.

// Tests that params and constants keep name, trainability, type and value.
// CHECK-LABEL: func.func @sources
func.func @sources() -> (tensor<256x64xf32>, tensor<64xbf16>, tensor<2xf32>) {
  // CHECK: %[[W:.+]] = off.param "model.embed_tokens.weight" {trainable} : tensor<256x64xf32>
  %w = off.param "model.embed_tokens.weight" {trainable} : tensor<256x64xf32>
  // CHECK: off.param "frozen" : tensor<64xbf16>
  %f = off.param "frozen" : tensor<64xbf16>
  // CHECK: off.param "model.embed_tokens.weight.bf16" {copy_of = "model.embed_tokens.weight"} : tensor<256x64xbf16>
  %wc = off.param "model.embed_tokens.weight.bf16" {copy_of = "model.embed_tokens.weight"} : tensor<256x64xbf16>
  // CHECK: off.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %c = off.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %w, %f, %c : tensor<256x64xf32>, tensor<64xbf16>, tensor<2xf32>
}

// Tests that matmul keeps its transpose flags and broadcast batch dims.
// CHECK-LABEL: func.func @matmul
func.func @matmul(%x: tensor<2x8x64xf32>, %w: tensor<128x64xf32>,
                  %a: tensor<4x1x5x3xf32>, %b: tensor<6x7x5xf32>)
    -> (tensor<2x8x128xf32>, tensor<4x6x3x7xf32>) {
  // CHECK: off.matmul %{{.+}}, %{{.+}} {transpose_rhs = true} : (tensor<2x8x64xf32>, tensor<128x64xf32>) -> tensor<2x8x128xf32>
  %y = off.matmul %x, %w {transpose_rhs = true}
      : (tensor<2x8x64xf32>, tensor<128x64xf32>) -> tensor<2x8x128xf32>
  // CHECK: off.matmul %{{.+}}, %{{.+}} {transpose_lhs = true, transpose_rhs = true} : (tensor<4x1x5x3xf32>, tensor<6x7x5xf32>) -> tensor<4x6x3x7xf32>
  %z = off.matmul %a, %b {transpose_lhs = true, transpose_rhs = true}
      : (tensor<4x1x5x3xf32>, tensor<6x7x5xf32>) -> tensor<4x6x3x7xf32>
  return %y, %z : tensor<2x8x128xf32>, tensor<4x6x3x7xf32>
}

// Tests the broadcasting binary ops.
// CHECK-LABEL: func.func @binary
func.func @binary(%x: tensor<2x8x64xf32>, %b: tensor<64xf32>, %i: tensor<3xi64>) -> tensor<3xi64> {
  // CHECK: off.add %{{.+}}, %{{.+}} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  %0 = off.add %x, %b : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  // CHECK: off.sub %{{.+}}, %{{.+}} : (tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  %1 = off.sub %b, %0 : (tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  // CHECK: off.mul
  %2 = off.mul %1, %1 : (tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  // CHECK: off.div
  %3 = off.div %2, %b : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  // CHECK: off.add %{{.+}}, %{{.+}} : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %4 = off.add %i, %i : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %4 : tensor<3xi64>
}

// Tests the element-wise unary ops.
// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // CHECK: off.neg %{{.+}} : tensor<2x64xf32>
  %0 = off.neg %x : tensor<2x64xf32>
  // CHECK: off.exp
  %1 = off.exp %0 : tensor<2x64xf32>
  // CHECK: off.sqrt
  %2 = off.sqrt %1 : tensor<2x64xf32>
  // CHECK: off.rsqrt
  %3 = off.rsqrt %2 : tensor<2x64xf32>
  // CHECK: off.silu
  %4 = off.silu %3 : tensor<2x64xf32>
  // CHECK: off.sigmoid
  %5 = off.sigmoid %4 : tensor<2x64xf32>
  return %5 : tensor<2x64xf32>
}

// Tests cast, reshape, transpose, slice, concat and gather.
// CHECK-LABEL: func.func @movement
func.func @movement(%x: tensor<2x8x64xf32>, %ids: tensor<3xi64>)
    -> (tensor<2x8x64xbf16>, tensor<2x8x4x16xf32>, tensor<2x4x8x16xf32>,
        tensor<2x4x8x8xf32>, tensor<2x4x8x3xf32>, tensor<2x4x8x16xf32>,
        tensor<2x3x64xf32>) {
  // CHECK: off.cast %{{.+}} : tensor<2x8x64xf32> to tensor<2x8x64xbf16>
  %c = off.cast %x : tensor<2x8x64xf32> to tensor<2x8x64xbf16>
  // CHECK: off.reshape %{{.+}} : tensor<2x8x64xf32> to tensor<2x8x4x16xf32>
  %r = off.reshape %x : tensor<2x8x64xf32> to tensor<2x8x4x16xf32>
  // CHECK: off.transpose %{{.+}} {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x8x4x16xf32>) -> tensor<2x4x8x16xf32>
  %t = off.transpose %r {perm = array<i64: 0, 2, 1, 3>}
      : (tensor<2x8x4x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: off.slice %{{.+}} {axis = 3 : i64, end = 16 : i64, start = 8 : i64} : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  %hi = off.slice %t {axis = 3 : i64, start = 8 : i64, end = 16 : i64}
      : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  // CHECK: off.slice %{{.+}} {axis = 3 : i64, end = 9 : i64, start = 1 : i64, step = 3 : i64} : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x3xf32>
  %strided = off.slice %t {axis = 3 : i64, start = 1 : i64, end = 9 : i64, step = 3 : i64}
      : (tensor<2x4x8x16xf32>) -> tensor<2x4x8x3xf32>
  // CHECK: off.concat %{{.+}}, %{{.+}} {axis = 3 : i64} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32>
  %cat = off.concat %hi, %hi {axis = 3 : i64}
      : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: off.gather %{{.+}}, %{{.+}} {axis = 1 : i64} : (tensor<2x8x64xf32>, tensor<3xi64>) -> tensor<2x3x64xf32>
  %g = off.gather %x, %ids {axis = 1 : i64}
      : (tensor<2x8x64xf32>, tensor<3xi64>) -> tensor<2x3x64xf32>
  return %c, %r, %t, %hi, %strided, %cat, %g
      : tensor<2x8x64xbf16>, tensor<2x8x4x16xf32>, tensor<2x4x8x16xf32>,
        tensor<2x4x8x8xf32>, tensor<2x4x8x3xf32>, tensor<2x4x8x16xf32>,
        tensor<2x3x64xf32>
}

// Tests reductions and softmax.
// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<4x8x64xf32>)
    -> (tensor<4x1x1xf32>, tensor<4x8xf32>, tensor<8x64xf32>, tensor<4x8x64xf32>) {
  // CHECK: off.reduce_sum %{{.+}} {axes = array<i64: 1, 2>, keepdims = true} : (tensor<4x8x64xf32>) -> tensor<4x1x1xf32>
  %s = off.reduce_sum %x {axes = array<i64: 1, 2>, keepdims = true}
      : (tensor<4x8x64xf32>) -> tensor<4x1x1xf32>
  // CHECK: off.reduce_mean %{{.+}} {axes = array<i64: 2>} : (tensor<4x8x64xf32>) -> tensor<4x8xf32>
  %m = off.reduce_mean %x {axes = array<i64: 2>} : (tensor<4x8x64xf32>) -> tensor<4x8xf32>
  // CHECK: off.reduce_max %{{.+}} {axes = array<i64: 0>} : (tensor<4x8x64xf32>) -> tensor<8x64xf32>
  %mx = off.reduce_max %x {axes = array<i64: 0>} : (tensor<4x8x64xf32>) -> tensor<8x64xf32>
  // CHECK: off.softmax %{{.+}} {axis = 2 : i64} : tensor<4x8x64xf32>
  %p = off.softmax %x {axis = 2 : i64} : tensor<4x8x64xf32>
  return %s, %m, %mx, %p : tensor<4x1x1xf32>, tensor<4x8xf32>, tensor<8x64xf32>, tensor<4x8x64xf32>
}

// Tests the fused LLM ops.
// CHECK-LABEL: func.func @llm
func.func @llm(%x: tensor<2x8x64xf32>, %w: tensor<64xf32>, %q: tensor<2x4x8x16xf32>,
               %k: tensor<2x2x8x16xf32>, %v: tensor<2x2x8x16xf32>,
               %cos: tensor<8x16xf32>, %sin: tensor<8x16xf32>,
               %table: tensor<256x64xf32>, %ids: tensor<2x8xi32>)
    -> (tensor<2x8x64xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>,
        tensor<2x4x8x16xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<f32>) {
  // CHECK: off.rms_norm %{{.+}}, %{{.+}} {eps = 1.000000e-05 : f64} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  %n = off.rms_norm %x, %w {eps = 1.0e-05 : f64}
      : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  // CHECK: off.rope %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8x16xf32>
  %r = off.rope %q, %cos, %sin
      : (tensor<2x4x8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: off.attention %{{.+}}, %{{.+}}, %{{.+}} {causal} : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32>
  %o = off.attention %r, %k, %v {causal}
      : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: off.attention %{{.+}}, %{{.+}}, %{{.+}} {scale = 1.250000e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32>
  %o2 = off.attention %r, %k, %v {scale = 0.125 : f64}
      : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: off.swiglu %{{.+}}, %{{.+}} : tensor<2x8x64xf32>
  %h = off.swiglu %n, %x : tensor<2x8x64xf32>
  // CHECK: off.embedding %{{.+}}, %{{.+}} : (tensor<256x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
  %e = off.embedding %table, %ids : (tensor<256x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
  %logits = off.matmul %e, %table {transpose_rhs = true}
      : (tensor<2x8x64xf32>, tensor<256x64xf32>) -> tensor<2x8x256xf32>
  // CHECK: off.cross_entropy %{{.+}}, %{{.+}} : (tensor<2x8x256xf32>, tensor<2x8xi32>) -> tensor<f32>
  %loss = off.cross_entropy %logits, %ids : (tensor<2x8x256xf32>, tensor<2x8xi32>) -> tensor<f32>
  return %n, %r, %o, %o2, %h, %e, %loss
      : tensor<2x8x64xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>,
        tensor<2x4x8x16xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<f32>
}

// Tests the memory-level ops and the tier attribute (more in memory_level.mlir).
// CHECK-LABEL: func.func @memory
func.func @memory(%x: tensor<64x64xf32>, %shard: tensor<16x64xf32>)
    -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<16x64xf32>) {
  // CHECK: %[[H:.+]], %[[T0:.+]] = off.offload %{{.+}} from <device> to <host> : tensor<64x64xf32>
  %h, %t0 = off.offload %x from <device> to <host> : tensor<64x64xf32>
  // CHECK: off.offload %[[H]] from <host> to <nvme> : tensor<64x64xf32, #off.tier<host>>
  %n, %t1 = off.offload %h from <host> to <nvme> : tensor<64x64xf32, #off.tier<host>>
  // CHECK: off.wait %[[T0]], %{{.+}}
  off.wait %t0, %t1
  // CHECK: off.prefetch %{{.+}} from <nvme> to <host> : tensor<64x64xf32, #off.tier<nvme>>
  %h2, %t2 = off.prefetch %n from <nvme> to <host> : tensor<64x64xf32, #off.tier<nvme>>
  // CHECK: off.prefetch %{{.+}} from <host> to <device> : tensor<64x64xf32, #off.tier<host>>
  %d, %t3 = off.prefetch %h2 from <host> to <device> : tensor<64x64xf32, #off.tier<host>>
  off.wait %t2, %t3
  // CHECK: off.recompute -> tensor<64x64xf32> {
  // CHECK:   off.silu
  // CHECK:   off.yield %{{.+}} : tensor<64x64xf32>
  %r = off.recompute -> tensor<64x64xf32> {
    %s = off.silu %d : tensor<64x64xf32>
    off.yield %s : tensor<64x64xf32>
  }
  // CHECK: off.all_gather %{{.+}} {axis = 0 : i64, ranks = 4 : i64} : (tensor<16x64xf32>) -> tensor<64x64xf32>
  %full = off.all_gather %shard {axis = 0 : i64, ranks = 4 : i64}
      : (tensor<16x64xf32>) -> tensor<64x64xf32>
  // CHECK: off.reduce_scatter %{{.+}} {axis = 0 : i64, ranks = 4 : i64} : (tensor<64x64xf32>) -> tensor<16x64xf32>
  %part = off.reduce_scatter %full {axis = 0 : i64, ranks = 4 : i64}
      : (tensor<64x64xf32>) -> tensor<16x64xf32>
  // CHECK: off.free %{{.+}} from <device> : tensor<64x64xf32>
  off.free %x from <device> : tensor<64x64xf32>
  return %r, %d, %part : tensor<64x64xf32>, tensor<64x64xf32>, tensor<16x64xf32>
}

// Tests that optimizer state keeps its name and type.
// CHECK-LABEL: func.func @state
func.func @state() -> tensor<64xf32> {
  // CHECK: off.state "model.norm.weight.exp_avg" : tensor<64xf32>
  %m = off.state "model.norm.weight.exp_avg" : tensor<64xf32>
  return %m : tensor<64xf32>
}
