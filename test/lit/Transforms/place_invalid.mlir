// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-place="place=optimizer" 2>&1 | FileCheck %s --check-prefix=FORM
// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-place="place=params=gpu" 2>&1 | FileCheck %s --check-prefix=TIER
// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-place="place=model.layers.9.*=host" 2>&1 | FileCheck %s --check-prefix=NOMATCH
// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-place="place=[=host" 2>&1 | FileCheck %s --check-prefix=GLOB
// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-place="place=model.layers.9.*.grad=host" 2>&1 | FileCheck %s --check-prefix=NOGRAD
// RUN: off-opt %s -split-input-file -verify-diagnostics
// off-place refuses malformed rules and patterns that match nothing.

// Tests that a rule needs CLASS_OR_PATTERN=TIER.
// FORM: error: off-place: rule 'optimizer' is not CLASS_OR_PATTERN=TIER

// Tests that the tier is device, host or nvme.
// TIER: error: off-place: rule 'params=gpu': tier 'gpu' is not device, host or nvme

// Tests that a pattern must match a param or optimizer state.
// NOMATCH: error: off-place: --place 'model.layers.9.*=host' matches no param or optimizer state

// Tests that a gradient pattern must match a gradient.
// NOGRAD: error: off-place: --place 'model.layers.9.*.grad=host' matches no gradient

// Tests that a pattern must be a valid glob.
// GLOB: error: off-place: rule '[=host': invalid glob pattern

// Tests that off.home holds a tier.
func.func @f() {
  // expected-error @+1 {{'off.home' must be a #off.tier attribute}}
  %w = off.param "w" {off.home = "host"} : tensor<4xf32>
  return
}
