// RUN: off-opt --split-input-file --off-fuse-llm %s | FileCheck %s

// The forms the torch exporters write for the models users export (fresh
// transformers models, hand-written Llamas; static and dynamic shapes),
// after off-fold-shapes, and their near misses. The RoPE tables and masks of
// a static-shape export are constants here because the importer takes them
// as constants (docs/frontends.md, "Weights and constants").

// Tests attention as PyTorch's scaled_dot_product_attention(is_causal=True)
// is decomposed: k^T is one transpose of the projected keys [B, S, H, D]
// with perm {0, 2, 3, 1}, the scale sqrt(1/sqrt(D)) on q and on k^T (as
// [1] tensors), and the causal mask a [T, S] constant of 0 and -inf. The
// keys become transpose(k, {0, 2, 1, 3}) (the [B, H, S, D] the fused op
// reads) and the attention is causal with the default scale.
// CHECK-LABEL: func.func @attention_sdpa_is_causal
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x3x4xf32>, %[[KIN:.+]]: tensor<1x3x2x4xf32>, %[[V:.+]]: tensor<1x2x3x4xf32>)
// CHECK: %[[K:.+]] = off.transpose %[[KIN]] {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x4xf32>) -> tensor<1x2x3x4xf32>
// CHECK-NEXT: %[[O:.+]] = off.attention %[[Q]], %[[K]], %[[V]] {causal} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
// CHECK-NEXT: return %[[O]]
func.func @attention_sdpa_is_causal(%q: tensor<1x2x3x4xf32>, %k: tensor<1x3x2x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x2x4xf32>) -> tensor<1x2x4x3xf32>
  %root = off.constant dense<0.707106769> : tensor<1xf32>
  %qs = off.mul %q, %root : (tensor<1x2x3x4xf32>, tensor<1xf32>) -> tensor<1x2x3x4xf32>
  %kts = off.mul %kt, %root : (tensor<1x2x4x3xf32>, tensor<1xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %qs, %kts : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %mask = off.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m = off.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests a near miss of the decomposed form: the mask hides the past
// (-inf below the diagonal, the transpose of a causal mask), which is not
// causal; nothing fuses.
// CHECK-LABEL: func.func @attention_sdpa_mask_hides_past
// CHECK-NOT: off.attention
// CHECK: off.softmax
func.func @attention_sdpa_mask_hides_past(%q: tensor<1x2x3x4xf32>, %k: tensor<1x3x2x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x2x4xf32>) -> tensor<1x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %mask = off.constant dense<[[0.0, 0.0, 0.0], [0xFF800000, 0.0, 0.0], [0xFF800000, 0xFF800000, 0.0]]> : tensor<3x3xf32>
  %m = off.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// Tests the mask of PyTorch's masked_fill(future, -inf) (the importer
// writes Where(mask, -inf, scores) as scores + a constant of -inf and 0)
// and a [B, 1, T, S] mask of the float minimum (transformers' static
// export): both causal.
// CHECK-LABEL: func.func @attention_masked_fill_and_batch_mask
// CHECK: off.attention %{{.+}}, %{{.+}}, %{{.+}} {causal}
// CHECK-NEXT: off.attention %{{.+}}, %{{.+}}, %{{.+}} {causal}
// CHECK-NOT: off.softmax
func.func @attention_masked_fill_and_batch_mask(%q: tensor<2x2x3x4xf32>, %k: tensor<2x2x3x4xf32>, %v: tensor<2x2x3x4xf32>) -> (tensor<2x2x3x4xf32>, tensor<2x2x3x4xf32>) {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x2x3x4xf32>) -> tensor<2x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<2x2x3x4xf32>, tensor<2x2x4x3xf32>) -> tensor<2x2x3x3xf32>
  %half = off.constant dense<2.0> : tensor<f32>
  %ss = off.div %s, %half : (tensor<2x2x3x3xf32>, tensor<f32>) -> tensor<2x2x3x3xf32>
  %fill = off.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m1 = off.add %ss, %fill : (tensor<2x2x3x3xf32>, tensor<3x3xf32>) -> tensor<2x2x3x3xf32>
  %p1 = off.softmax %m1 {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %o1 = off.matmul %p1, %v : (tensor<2x2x3x3xf32>, tensor<2x2x3x4xf32>) -> tensor<2x2x3x4xf32>
  %batch = off.constant dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]], [[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]]]> : tensor<2x1x3x3xf32>
  %m2 = off.add %ss, %batch : (tensor<2x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<2x2x3x3xf32>
  %p2 = off.softmax %m2 {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %o2 = off.matmul %p2, %v : (tensor<2x2x3x3xf32>, tensor<2x2x3x4xf32>) -> tensor<2x2x3x4xf32>
  return %o1, %o2 : tensor<2x2x3x4xf32>, tensor<2x2x3x4xf32>
}

// -----

// Tests a near miss: a [B, 1, T, S] mask whose second batch row also hides
// a past key (padding) is not causal for every row; nothing fuses.
// CHECK-LABEL: func.func @attention_batch_mask_with_padding
// CHECK-NOT: off.attention
// CHECK: off.softmax
func.func @attention_batch_mask_with_padding(%q: tensor<2x2x3x4xf32>, %k: tensor<2x2x3x4xf32>, %v: tensor<2x2x3x4xf32>) -> tensor<2x2x3x4xf32> {
  %kt = off.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x2x3x4xf32>) -> tensor<2x2x4x3xf32>
  %s = off.matmul %q, %kt : (tensor<2x2x3x4xf32>, tensor<2x2x4x3xf32>) -> tensor<2x2x3x3xf32>
  %batch = off.constant dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]], [[[0.0, -3.40282347E+38, -3.40282347E+38], [-3.40282347E+38, 0.0, -3.40282347E+38], [-3.40282347E+38, 0.0, 0.0]]]]> : tensor<2x1x3x3xf32>
  %m = off.add %s, %batch : (tensor<2x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<2x2x3x3xf32>
  %p = off.softmax %m {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %o = off.matmul %p, %v : (tensor<2x2x3x3xf32>, tensor<2x2x3x4xf32>) -> tensor<2x2x3x4xf32>
  return %o : tensor<2x2x3x4xf32>
}

// -----

// Tests a hand-written `table[ids]` embedding: ONNX's GatherND reads the
// ids widened to i64 (the i32 model input cast back): the lookup reads the
// ids before the widening cast.
// CHECK-LABEL: func.func @embedding_widened_ids
// CHECK-SAME: (%[[T:.+]]: tensor<16x4xf32>, %[[IDS:.+]]: tensor<2x3xi32>)
// CHECK-NEXT: %[[E:.+]] = off.embedding %[[T]], %[[IDS]] : (tensor<16x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: return %[[E]]
func.func @embedding_widened_ids(%t: tensor<16x4xf32>, %ids: tensor<2x3xi32>) -> tensor<2x3x4xf32> {
  %w = off.cast %ids : tensor<2x3xi32> to tensor<2x3xi64>
  %e = off.gather %t, %w {axis = 0 : i64} : (tensor<16x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  return %e : tensor<2x3x4xf32>
}

// -----

// Tests a near miss: ids narrowed by a cast (i64 to i8 wraps large ids) are
// read after the cast.
// CHECK-LABEL: func.func @embedding_narrowed_ids
// CHECK: %[[N:.+]] = off.cast
// CHECK-NEXT: off.embedding %{{.+}}, %[[N]]
func.func @embedding_narrowed_ids(%t: tensor<16x4xf32>, %ids: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %n = off.cast %ids : tensor<2x3xi64> to tensor<2x3xi8>
  %e = off.gather %t, %n {axis = 0 : i64} : (tensor<16x4xf32>, tensor<2x3xi8>) -> tensor<2x3x4xf32>
  return %e : tensor<2x3x4xf32>
}
