// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-remat="remat=model.layers.7" 2>&1 | FileCheck %s --check-prefix=NOMATCH
// RUN: not off-opt %S/Inputs/three_layers.mlir --off-autodiff --off-remat="remat=[" 2>&1 | FileCheck %s --check-prefix=GLOB
// off-remat refuses patterns that are not globs or select no layer.

// Tests that a pattern must select a layer.
// NOMATCH: error: off-remat: 'model.layers.7' matches no layer

// Tests that a pattern must be a valid glob.
// GLOB: error: off-remat: '[': invalid glob pattern
