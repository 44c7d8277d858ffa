// RUN: off-opt --split-input-file --off-fold-shapes -verify-diagnostics %s

// Tests that a constant integer division by zero is an error naming the op
// (the program is wrong for these shapes), not a crash or a silent value.
func.func @divide_by_zero() -> tensor<2xi64> {
  %a = off.constant dense<[4, 6]> : tensor<2xi64>
  %z = off.constant dense<[2, 0]> : tensor<2xi64>
  // expected-error @+1 {{off-fold-shapes: cannot fold: integer division by zero}}
  %d = off.div %a, %z : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %d : tensor<2xi64>
}

// -----

// Tests that a constant gather index outside the dimension is an error.
func.func @gather_out_of_range() -> tensor<1xi64> {
  %shape = off.constant dense<[2, 8, 64]> : tensor<3xi64>
  %i = off.constant dense<3> : tensor<1xi64>
  // expected-error @+1 {{off-fold-shapes: cannot fold: gather index 3 is out of range for a dimension of size 3}}
  %d = off.gather %shape, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  return %d : tensor<1xi64>
}
