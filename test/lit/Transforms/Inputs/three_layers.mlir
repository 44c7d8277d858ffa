// A small model for the memory-level passes: an embedding, three residual
// layers (matmul, silu) whose params are named as Hugging Face names layers,
// and a head. Tests run off-autodiff on it first.
func.func @forward(%ids: tensor<2x4xi32> {off.name = "input_ids"}) -> (tensor<2x4x16xf32> {off.name = "logits"}) {
  %e = off.param "model.embed_tokens.weight" {trainable} : tensor<16x8xf32>
  %w0 = off.param "model.layers.0.mlp.weight" {trainable} : tensor<8x8xf32>
  %w1 = off.param "model.layers.1.mlp.weight" {trainable} : tensor<8x8xf32>
  %w2 = off.param "model.layers.2.mlp.weight" {trainable} : tensor<8x8xf32>
  %head = off.param "lm_head.weight" {trainable} : tensor<16x8xf32>
  %x0 = off.embedding %e, %ids : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %h0 = off.matmul %x0, %w0 {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %a0 = off.silu %h0 : tensor<2x4x8xf32>
  %x1 = off.add %x0, %a0 : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %h1 = off.matmul %x1, %w1 {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %a1 = off.silu %h1 : tensor<2x4x8xf32>
  %x2 = off.add %x1, %a1 : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %h2 = off.matmul %x2, %w2 {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %a2 = off.silu %h2 : tensor<2x4x8xf32>
  %x3 = off.add %x2, %a2 : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %logits = off.matmul %x3, %head {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %logits : tensor<2x4x16xf32>
}
