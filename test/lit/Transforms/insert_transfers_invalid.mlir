// RUN: off-opt %s -split-input-file -verify-diagnostics --off-insert-transfers
// off-insert-transfers runs once, on a step without transfers or regions.

// Tests that a step that already has transfers is refused.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{off-insert-transfers: the step already has transfers (run it once, before off-schedule)}}
  %h, %t = off.offload %x from <device> to <host> : tensor<4xf32>
  return %x : tensor<4xf32>
}

// -----

// Tests that off.recompute regions must be lowered first.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{off-insert-transfers: run off-lower-recompute first}}
  %r = off.recompute -> tensor<4xf32> {
    %y = off.neg %x : tensor<4xf32>
    off.yield %y : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
