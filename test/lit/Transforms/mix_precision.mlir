// RUN: off-opt --split-input-file --off-mix-precision %s | FileCheck %s

// Tests that a Linear layer reads the bf16 compute copy of its weight (one
// copy per param, declared right after it), that its f32 input is cast to
// bf16 once for both products that read it, that the matmuls' results are
// bf16, and that the returned logits are cast back to the declared f32.
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: %[[W:.+]] = off.param "w" {trainable} : tensor<16x8xf32>
// CHECK-NEXT: %[[WC:.+]] = off.param "w.bf16" {copy_of = "w"} : tensor<16x8xbf16>
// CHECK-NEXT: %[[E:.+]] = off.param "embed" : tensor<32x8xf32>
// CHECK-NEXT: %[[X:.+]] = off.embedding %[[E]], %{{.+}} : (tensor<32x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[XC:.+]] = off.cast %[[X]] : tensor<2x4x8xf32> to tensor<2x4x8xbf16>
// CHECK-NEXT: %[[Y:.+]] = off.matmul %[[XC]], %[[WC]] {transpose_rhs = true} : (tensor<2x4x8xbf16>, tensor<16x8xbf16>) -> tensor<2x4x16xbf16>
// CHECK-NEXT: %[[Z:.+]] = off.matmul %[[XC]], %[[WC]] {transpose_rhs = true} : (tensor<2x4x8xbf16>, tensor<16x8xbf16>) -> tensor<2x4x16xbf16>
// CHECK-NEXT: %[[S:.+]] = off.add %[[Y]], %[[Z]] : (tensor<2x4x16xbf16>, tensor<2x4x16xbf16>) -> tensor<2x4x16xbf16>
// CHECK-NEXT: %[[F:.+]] = off.cast %[[S]] : tensor<2x4x16xbf16> to tensor<2x4x16xf32>
// CHECK-NEXT: return %[[F]] : tensor<2x4x16xf32>
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %w = off.param "w" {trainable} : tensor<16x8xf32>
  %e = off.param "embed" : tensor<32x8xf32>
  %x = off.embedding %e, %ids : (tensor<32x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %y = off.matmul %x, %w {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %z = off.matmul %x, %w {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %s = off.add %y, %z : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %s : tensor<2x4x16xf32>
}

// -----

// Tests a Llama block's casts, as torch.autocast("cpu", bfloat16) types
// it: rms_norm in f32 (its input and weight stay f32), the projections in
// bf16, rope promoted to f32 by its f32 tables, attention in bf16 (the f32
// rope results cast back), swiglu in bf16, and the residual adds in f32
// (the bf16 projection cast up, as torch's type promotion does).
// CHECK-LABEL: func.func @forward
// CHECK: %[[N:.+]] = off.rms_norm %{{.+}}, %{{.+}} {eps = 1.000000e-05 : f64} : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
// CHECK-NEXT: %[[NC:.+]] = off.cast %[[N]] : tensor<1x4x8xf32> to tensor<1x4x8xbf16>
// CHECK-NEXT: %[[Q:.+]] = off.matmul %[[NC]], %{{.+}} {transpose_rhs = true} : (tensor<1x4x8xbf16>, tensor<8x8xbf16>) -> tensor<1x4x8xbf16>
// CHECK-NEXT: %[[QR:.+]] = off.reshape %[[Q]] : tensor<1x4x8xbf16> to tensor<1x4x2x4xbf16>
// CHECK-NEXT: %[[QT:.+]] = off.transpose %[[QR]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x4xbf16>) -> tensor<1x2x4x4xbf16>
// CHECK-NEXT: %[[QF:.+]] = off.cast %[[QT]] : tensor<1x2x4x4xbf16> to tensor<1x2x4x4xf32>
// CHECK-NEXT: %[[QE:.+]] = off.rope %[[QF]], %{{.+}}, %{{.+}} : (tensor<1x2x4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT: %[[QC:.+]] = off.cast %[[QE]] : tensor<1x2x4x4xf32> to tensor<1x2x4x4xbf16>
// CHECK-NEXT: %[[A:.+]] = off.attention %[[QC]], %[[QC]], %[[QC]] {causal} : (tensor<1x2x4x4xbf16>, tensor<1x2x4x4xbf16>, tensor<1x2x4x4xbf16>) -> tensor<1x2x4x4xbf16>
// CHECK-NEXT: %[[AT:.+]] = off.transpose %[[A]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x4x4xbf16>) -> tensor<1x4x2x4xbf16>
// CHECK-NEXT: %[[AR:.+]] = off.reshape %[[AT]] : tensor<1x4x2x4xbf16> to tensor<1x4x8xbf16>
// CHECK-NEXT: %[[AF:.+]] = off.cast %[[AR]] : tensor<1x4x8xbf16> to tensor<1x4x8xf32>
// CHECK-NEXT: %[[H:.+]] = off.add %{{.+}}, %[[AF]] : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
// CHECK-NEXT: %[[HC:.+]] = off.cast %[[H]] : tensor<1x4x8xf32> to tensor<1x4x8xbf16>
// CHECK-NEXT: %[[G:.+]] = off.matmul %[[HC]], %{{.+}} {transpose_rhs = true} : (tensor<1x4x8xbf16>, tensor<16x8xbf16>) -> tensor<1x4x16xbf16>
// CHECK-NEXT: %[[SW:.+]] = off.swiglu %[[G]], %[[G]] : tensor<1x4x16xbf16>
// CHECK-NEXT: %[[D:.+]] = off.matmul %[[SW]], %{{.+}} {transpose_rhs = true} : (tensor<1x4x16xbf16>, tensor<8x16xbf16>) -> tensor<1x4x8xbf16>
// CHECK-NEXT: %[[DF:.+]] = off.cast %[[D]] : tensor<1x4x8xbf16> to tensor<1x4x8xf32>
// CHECK-NEXT: %[[H2:.+]] = off.add %[[H]], %[[DF]] : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
// CHECK-NEXT: %[[H2C:.+]] = off.cast %[[H2]] : tensor<1x4x8xf32> to tensor<1x4x8xbf16>
// CHECK-NEXT: %[[L:.+]] = off.matmul %[[H2C]], %{{.+}} {transpose_rhs = true} : (tensor<1x4x8xbf16>, tensor<32x8xbf16>) -> tensor<1x4x32xbf16>
// CHECK-NEXT: %[[LF:.+]] = off.cast %[[L]] : tensor<1x4x32xbf16> to tensor<1x4x32xf32>
// CHECK-NEXT: return %[[LF]]
func.func @forward(%ids: tensor<1x4xi32>) -> tensor<1x4x32xf32> {
  %e = off.param "embed" {trainable} : tensor<32x8xf32>
  %nw = off.param "norm" {trainable} : tensor<8xf32>
  %wq = off.param "q" {trainable} : tensor<8x8xf32>
  %wg = off.param "gate" {trainable} : tensor<16x8xf32>
  %wd = off.param "down" {trainable} : tensor<8x16xf32>
  %head = off.param "head" {trainable} : tensor<32x8xf32>
  %cos = off.constant dense<1.0> : tensor<4x4xf32>
  %sin = off.constant dense<0.0> : tensor<4x4xf32>
  %x = off.embedding %e, %ids : (tensor<32x8xf32>, tensor<1x4xi32>) -> tensor<1x4x8xf32>
  %n = off.rms_norm %x, %nw {eps = 1.0e-05 : f64} : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %q = off.matmul %n, %wq {transpose_rhs = true} : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %qr = off.reshape %q : tensor<1x4x8xf32> to tensor<1x4x2x4xf32>
  %qt = off.transpose %qr {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x4xf32>) -> tensor<1x2x4x4xf32>
  %qe = off.rope %qt, %cos, %sin : (tensor<1x2x4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %a = off.attention %qe, %qe, %qe {causal} : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %at = off.transpose %a {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x4x4xf32>) -> tensor<1x4x2x4xf32>
  %ar = off.reshape %at : tensor<1x4x2x4xf32> to tensor<1x4x8xf32>
  %h = off.add %x, %ar : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %g = off.matmul %h, %wg {transpose_rhs = true} : (tensor<1x4x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16xf32>
  %sw = off.swiglu %g, %g : tensor<1x4x16xf32>
  %d = off.matmul %sw, %wd {transpose_rhs = true} : (tensor<1x4x16xf32>, tensor<8x16xf32>) -> tensor<1x4x8xf32>
  %h2 = off.add %h, %d : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %l = off.matmul %h2, %head {transpose_rhs = true} : (tensor<1x4x8xf32>, tensor<32x8xf32>) -> tensor<1x4x32xf32>
  return %l : tensor<1x4x32xf32>
}

// -----

// Tests that a tied weight (an embedding table that is also the head)
// keeps its f32 uses (the embedding reads the master) beside its copy, and
// that a copy name already taken gets a number.
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: %[[T:.+]] = off.param "tied" {trainable} : tensor<32x8xf32>
// CHECK-NEXT: %[[TC:.+]] = off.param "tied.bf16.1" {copy_of = "tied"} : tensor<32x8xbf16>
// CHECK-NEXT: off.param "tied.bf16" : tensor<8xf32>
// CHECK-NEXT: %[[X:.+]] = off.embedding %[[T]], %{{.+}} : (tensor<32x8xf32>, tensor<1x4xi32>)
// CHECK-NEXT: %[[XC:.+]] = off.cast %[[X]]
// CHECK-NEXT: off.matmul %[[XC]], %[[TC]] {transpose_rhs = true} : (tensor<1x4x8xbf16>, tensor<32x8xbf16>) -> tensor<1x4x32xbf16>
func.func @forward(%ids: tensor<1x4xi32>) -> tensor<1x4x32xf32> {
  %t = off.param "tied" {trainable} : tensor<32x8xf32>
  %other = off.param "tied.bf16" : tensor<8xf32>
  %x = off.embedding %t, %ids : (tensor<32x8xf32>, tensor<1x4xi32>) -> tensor<1x4x8xf32>
  %l = off.matmul %x, %t {transpose_rhs = true} : (tensor<1x4x8xf32>, tensor<32x8xf32>) -> tensor<1x4x32xf32>
  return %l : tensor<1x4x32xf32>
}
