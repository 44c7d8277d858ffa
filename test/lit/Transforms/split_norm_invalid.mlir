// RUN: off-opt %s -split-input-file -verify-diagnostics --off-split-norm
// off-split-norm runs before any memory-level decision, on static shapes.

// Tests that a step with off-place's decisions is refused.
func.func @f(%x: tensor<4xf32>) -> tensor<f32> {
  // expected-error @+1 {{off-split-norm: the step already has memory-level decisions (run it before off-place)}}
  %g = off.neg %x {off.home = #off.tier<host>} : tensor<4xf32>
  %n = off.global_norm %g : tensor<4xf32> -> tensor<f32>
  return %n : tensor<f32>
}

// -----

// Tests that a step with transfers is refused.
func.func @f(%x: tensor<4xf32>) -> tensor<f32> {
  // expected-error @+1 {{off-split-norm: the step already has memory-level decisions (run it before off-place)}}
  %h, %t = off.offload %x from <device> to <host> : tensor<4xf32>
  %n = off.global_norm %x : tensor<4xf32> -> tensor<f32>
  return %n : tensor<f32>
}

// -----

// Tests that a gradient of dynamic shape is refused (its block count is
// not known).
func.func @f(%x: tensor<?xf32>) -> tensor<f32> {
  // expected-error @+1 {{off-split-norm: needs static shapes, got 'tensor<?xf32>'}}
  %n = off.global_norm %x : tensor<?xf32> -> tensor<f32>
  return %n : tensor<f32>
}
