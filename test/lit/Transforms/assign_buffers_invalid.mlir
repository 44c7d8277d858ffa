// RUN: off-opt %s -split-input-file -verify-diagnostics --off-assign-buffers=vram=100
// RUN: not off-opt %s --split-input-file --off-assign-buffers=alignment=48 2>&1 | FileCheck %s --check-prefix=ALIGN
// off-assign-buffers: a tier over its budget says by how much and what it
// holds; the alignment must be a power of two.

// Tests that the device arena over --vram is an error.
// expected-error @+1 {{off-assign-buffers: the device arena needs 192 bytes, over its budget of 100 by 92; it holds inputs 64, outputs 64, params 64}}
func.func @f(%x: tensor<16xf32>) -> tensor<16xf32> {
  %w = off.param "w" : tensor<16xf32>
  %a = off.mul %x, %w {off.stream = #off.stream<compute>} : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %a : tensor<16xf32>
}

// Tests that the alignment is a power of two.
// ALIGN: error: off-assign-buffers: alignment must be a power of two
