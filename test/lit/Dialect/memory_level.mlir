// RUN: off-opt %s --split-input-file | off-opt --split-input-file | FileCheck %s
// RUN: off-opt %s --split-input-file --mlir-print-op-generic | off-opt --split-input-file | FileCheck %s
// The memory level: tiers as tensor encodings, transfers whose result type
// follows their destination tier, write-backs `into` a param, streams and
// events (tokens) of a schedule; every form parses back to the same IR.

// Tests that params and optimizer states keep their tier, that a transfer's
// result type is the input's in the destination tier (no encoding: device),
// and that a device kernel reads the prefetched copy.
// CHECK-LABEL: func.func @tiers
func.func @tiers(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  // CHECK: %[[W:.+]] = off.param "w" {trainable} : tensor<16x8xf32, #off.tier<host>>
  %w = off.param "w" {trainable} : tensor<16x8xf32, #off.tier<host>>
  // CHECK: %[[M:.+]] = off.state "w.exp_avg" : tensor<16x8xf32, #off.tier<nvme>>
  %m = off.state "w.exp_avg" : tensor<16x8xf32, #off.tier<nvme>>
  // CHECK: %[[D:.+]], %[[T:.+]] = off.prefetch %[[W]] from <host> to <device> : tensor<16x8xf32, #off.tier<host>>
  %d, %t = off.prefetch %w from <host> to <device> : tensor<16x8xf32, #off.tier<host>>
  // CHECK: off.wait %[[T]]
  off.wait %t
  // CHECK: off.matmul %{{.+}}, %[[D]] {transpose_rhs = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %y = off.matmul %x, %d {transpose_rhs = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  // CHECK: off.free %[[D]] from <device> : tensor<16x8xf32>
  off.free %d from <device> : tensor<16x8xf32>
  // CHECK: %[[MH:.+]], %{{.+}} = off.prefetch %[[M]] from <nvme> to <host> : tensor<16x8xf32, #off.tier<nvme>>
  %mh, %t2 = off.prefetch %m from <nvme> to <host> : tensor<16x8xf32, #off.tier<nvme>>
  // CHECK: off.free %[[MH]] from <host> : tensor<16x8xf32, #off.tier<host>>
  off.free %mh from <host> : tensor<16x8xf32, #off.tier<host>>
  return %y : tensor<4x16xf32>
}

// -----

// Tests AdamW on the host-optimizer stream with host tensors, its param
// written back `into` the device copy, and the events that order the streams.
// CHECK-LABEL: func.func @host_adam
func.func @host_adam(%g: tensor<8xf32>, %n: tensor<f32>) {
  // CHECK: %[[P:.+]] = off.param "p" {trainable} : tensor<8xf32>
  %p = off.param "p" {trainable} : tensor<8xf32>
  %m = off.state "p.exp_avg" : tensor<8xf32, #off.tier<host>>
  %v = off.state "p.exp_avg_sq" : tensor<8xf32, #off.tier<host>>
  // CHECK: %[[E:.+]] = off.record {off.stream = #off.stream<compute>}
  %e = off.record {off.stream = #off.stream<compute>}
  // CHECK: off.wait %[[E]] {off.stream = #off.stream<d2h>}
  off.wait %e {off.stream = #off.stream<d2h>}
  // CHECK: off.offload %[[P]] from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<8xf32>
  %ph, %t0 = off.offload %p from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<8xf32>
  %gh, %t1 = off.offload %g from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<8xf32>
  %nh, %t2 = off.offload %n from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<f32>
  off.wait %t0, %t1, %t2 {off.stream = #off.stream<host_optimizer>}
  // CHECK: %[[NP:.+]], %{{.+}}, %{{.+}} = off.adam_step {{.+}}off.stream = #off.stream<host_optimizer>{{.+}} : tensor<8xf32, #off.tier<host>>, tensor<f32, #off.tier<host>>
  %p2, %m2, %v2 = off.adam_step %ph, %gh, %m, %v, %nh {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64,
      weight_decay = 0.01 : f64, max_grad_norm = 1.0 : f64,
      off.stream = #off.stream<host_optimizer>}
      : tensor<8xf32, #off.tier<host>>, tensor<f32, #off.tier<host>>
  %e2 = off.record {off.stream = #off.stream<host_optimizer>}
  off.wait %e2 {off.stream = #off.stream<h2d>}
  // CHECK: off.prefetch %[[NP]] into %[[P]] from <host> to <device> {off.stream = #off.stream<h2d>} : tensor<8xf32, #off.tier<host>> into tensor<8xf32>
  %p3, %t3 = off.prefetch %p2 into %p from <host> to <device> {off.stream = #off.stream<h2d>}
      : tensor<8xf32, #off.tier<host>> into tensor<8xf32>
  return
}
