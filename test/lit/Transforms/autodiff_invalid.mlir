// RUN: off-opt --split-input-file --off-autodiff -verify-diagnostics %s
// RUN: echo 'module {}' | not off-opt --off-autodiff='grad-accum=0' 2>&1 | FileCheck %s --check-prefix=ACCUM
// RUN: echo 'module {}' | not off-opt --off-autodiff='lr=0' 2>&1 | FileCheck %s --check-prefix=LR
// RUN: echo 'module {}' | not off-opt --off-autodiff='beta1=1' 2>&1 | FileCheck %s --check-prefix=BETA1
// RUN: echo 'module {}' | not off-opt --off-autodiff='beta2=-0.5' 2>&1 | FileCheck %s --check-prefix=BETA2
// RUN: echo 'module {}' | not off-opt --off-autodiff='eps=0' 2>&1 | FileCheck %s --check-prefix=EPS
// RUN: echo 'module {}' | not off-opt --off-autodiff='weight-decay=-1' 2>&1 | FileCheck %s --check-prefix=WD
// RUN: echo 'module {}' | not off-opt --off-autodiff='clip=-1' 2>&1 | FileCheck %s --check-prefix=CLIP

// Tests that out-of-range options are rejected before anything else.
// ACCUM: error: off-autodiff: invalid option: grad-accum must be >= 1, got 0
// LR: error: off-autodiff: invalid option: lr must be > 0, got 0
// BETA1: error: off-autodiff: invalid option: beta1 must be in [0, 1), got 1
// BETA2: error: off-autodiff: invalid option: beta2 must be in [0, 1), got -0.5
// EPS: error: off-autodiff: invalid option: eps must be > 0, got 0
// WD: error: off-autodiff: invalid option: weight-decay must be >= 0, got -1
// CLIP: error: off-autodiff: invalid option: clip must be >= 0 (0 = no clipping), got -1

// Tests that a module without @forward is an error.
// expected-error @+1 {{off-autodiff: the module has no func.func @forward}}
module {
  func.func @other(%ids: tensor<2x4xi32>) -> tensor<2x4xi32> {
    return %ids : tensor<2x4xi32>
  }
}

// -----

// Tests that @forward must map ids to f32 logits of the same batch and length.
// expected-error @+1 {{off-autodiff: @forward must be (tensor<BxTxi32>) -> tensor<BxTxVxf32> (input ids to f32 logits), not '(tensor<2x4xi32>) -> tensor<2x5x16xf32>'}}
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x5x16xf32> {
  %w = off.param "w" {trainable} : tensor<2x5x16xf32>
  return %w : tensor<2x5x16xf32>
}

// -----

// Tests that a reduce_max on the gradient path is reported as unsupported.
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  // expected-error @+1 {{off-autodiff: cannot differentiate 'off.reduce_max': reduce_max has no gradient rule (unsupported: the gradient of a maximum with ties is not implemented)}}
  %m = off.reduce_max %x {axes = array<i64: 2>, keepdims = true} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %y = off.sub %x, %m : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests that a reduce_max off the gradient path (over a constant) is fine,
// and that a trainable param that does not reach the logits is warned about.
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  // expected-warning @+1 {{off-autodiff: trainable param 'unused' does not reach the logits: it gets no gradient and no optimizer step (as PyTorch skips params whose grad is None)}}
  %u = off.param "unused" {trainable} : tensor<16xf32>
  %c = off.constant dense<1.0> : tensor<4x16xf32>
  %m = off.reduce_max %c {axes = array<i64: 0>} : (tensor<4x16xf32>) -> tensor<16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  %y = off.add %x, %m : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests that an op of another dialect on the gradient path is reported.
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  // expected-error @+1 {{off-autodiff: cannot differentiate 'arith.addf': the op has no gradient rule}}
  %y = arith.addf %x, %x : tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Tests that rope tables computed from a trainable param are rejected.
func.func @forward(%ids: tensor<1x4xi32>) -> tensor<1x4x16xf32> {
  %e = off.param "embed" : tensor<16x16xf32>
  %cos = off.param "cos" {trainable} : tensor<4x8xf32>
  %sin = off.constant dense<0.5> : tensor<4x8xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<1x4xi32>) -> tensor<1x4x16xf32>
  %q4 = off.reshape %x : tensor<1x4x16xf32> to tensor<1x2x4x8xf32>
  // expected-error @+1 {{off-autodiff: cannot differentiate 'off.rope': no gradient for the cos/sin tables (they must not depend on a trainable param)}}
  %qr = off.rope %q4, %cos, %sin : (tensor<1x2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4x8xf32>
  %y = off.reshape %qr : tensor<1x2x4x8xf32> to tensor<1x4x16xf32>
  return %y : tensor<1x4x16xf32>
}

// -----

// Tests that a forward without trainable params has nothing to train.
// expected-error @+1 {{off-autodiff: nothing to train: no trainable off.param of @forward reaches the logits}}
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" : tensor<16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  return %x : tensor<2x4x16xf32>
}

// -----

// Tests that ops with regions in @forward are rejected (their captured
// values would escape the analysis).
func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
  %e = off.param "embed" {trainable} : tensor<16x16xf32>
  %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
  // expected-error @+1 {{off-autodiff: cannot differentiate 'off.recompute': ops with regions are not supported}}
  %r = off.recompute -> tensor<2x4x16xf32> {
    %s = off.silu %x : tensor<2x4x16xf32>
    off.yield %s : tensor<2x4x16xf32>
  }
  return %r : tensor<2x4x16xf32>
}

// -----

// Tests that a module may not already hold @train_step.
// expected-error @+1 {{off-autodiff: the module already has @train_step}}
module {
  func.func @forward(%ids: tensor<2x4xi32>) -> tensor<2x4x16xf32> {
    %e = off.param "embed" {trainable} : tensor<16x16xf32>
    %x = off.embedding %e, %ids : (tensor<16x16xf32>, tensor<2x4xi32>) -> tensor<2x4x16xf32>
    return %x : tensor<2x4x16xf32>
  }
  func.func @train_step() {
    return
  }
}
