// RUN: off-opt --split-input-file --off-mix-precision -verify-diagnostics %s
// RUN: echo 'module {}' | not off-opt --off-mix-precision='compute-type=f8' 2>&1 | FileCheck %s --check-prefix=TYPE

// Tests that an unknown compute type is rejected.
// TYPE: error: off-mix-precision: invalid option: compute-type must be bf16 or f16, got 'f8'

// Tests that a module without @forward is an error.
// expected-error @+1 {{off-mix-precision: the module has no one-block func.func @forward}}
module {
  func.func @other(%ids: tensor<2x4xi32>) -> tensor<2x4xi32> {
    return %ids : tensor<2x4xi32>
  }
}

// -----

// Tests that the pass refuses a module that off-autodiff already ran on.
// expected-error @+1 {{off-mix-precision: the module has @train_step; run this pass before off-autodiff}}
module {
  func.func @train_step(%ids: tensor<1x2x4xi32>) -> tensor<1x2x4xi32> {
    return %ids : tensor<1x2x4xi32>
  }
}

// -----

// Tests that the pass runs once: a forward with compute copies is refused.
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %w = off.param "w" {trainable} : tensor<16x8xf32>
  // expected-error @+1 {{off-mix-precision: @forward already has compute copies; the pass runs once}}
  %c = off.param "w.bf16" {copy_of = "w"} : tensor<16x8xbf16>
  %e = off.param "embed" : tensor<32x8xf32>
  %x = off.embedding %e, %ids : (tensor<32x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %y = off.matmul %x, %w {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}
