// RUN: off-opt %s --split-input-file --off-schedule | FileCheck %s
// off-schedule puts every op on its stream and adds the events that order
// the streams: a transfer is issued where the compute stream gets to, an op
// follows what it reads, an in-place write follows every earlier access.

// Tests that a prefetch waits for the compute stream to reach it (a record
// on compute, a wait on h2d), that the wait before the use goes to the
// compute stream, and that what is already ordered gets no event.
// CHECK-LABEL: func.func @prefetch
func.func @prefetch(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: off.param "w" : tensor<4xf32, #off.tier<host>>
  %w = off.param "w" : tensor<4xf32, #off.tier<host>>
  // CHECK-NEXT: %[[A:.+]] = off.neg %{{.+}} {off.stream = #off.stream<compute>}
  %a = off.neg %x : tensor<4xf32>
  // CHECK-NEXT: %[[E:.+]] = off.record {off.stream = #off.stream<compute>}
  // CHECK-NEXT: off.wait %[[E]] {off.stream = #off.stream<h2d>}
  // CHECK-NEXT: %[[D:.+]], %[[T:.+]] = off.prefetch
  %d, %t = off.prefetch %w from <host> to <device> {off.stream = #off.stream<h2d>} : tensor<4xf32, #off.tier<host>>
  // CHECK-NEXT: off.neg %[[A]] {off.stream = #off.stream<compute>}
  %b = off.neg %a : tensor<4xf32>
  // CHECK-NEXT: off.wait %[[T]] {off.stream = #off.stream<compute>}
  off.wait %t
  // CHECK-NEXT: off.mul %{{.+}}, %[[D]] {off.stream = #off.stream<compute>}
  %c = off.mul %b, %d : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK-NEXT: off.free %[[D]]
  off.free %d from <device> {off.stream = #off.stream<compute>} : tensor<4xf32>
  // CHECK-NEXT: return
  return %c : tensor<4xf32>
}

// -----

// Tests AdamW on the host: it runs on the host-optimizer stream after the
// copies it waits for, and the write-back into the device param follows the
// update (one record on the host-optimizer stream, which already follows the
// compute stream's read of the param and the d2h copies).
// CHECK-LABEL: func.func @write_back
func.func @write_back(%g: tensor<8xf32>) -> tensor<8xf32> {
  %p = off.param "p" {trainable} : tensor<8xf32>
  %m = off.state "p.exp_avg" : tensor<8xf32, #off.tier<host>>
  %v = off.state "p.exp_avg_sq" : tensor<8xf32, #off.tier<host>>
  // CHECK: off.neg %{{.+}} {off.stream = #off.stream<compute>}
  %y = off.neg %p : tensor<8xf32>
  // CHECK-NEXT: %[[E0:.+]] = off.record {off.stream = #off.stream<compute>}
  // CHECK-NEXT: off.wait %[[E0]] {off.stream = #off.stream<d2h>}
  %ph, %t0 = off.offload %p from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<8xf32>
  %gh, %t1 = off.offload %g from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<8xf32>
  // CHECK: off.wait %{{.+}}, %{{.+}} {off.stream = #off.stream<host_optimizer>}
  off.wait %t0, %t1
  // CHECK-NEXT: %[[P2:.+]], %{{.+}}, %{{.+}} = off.adam_step {{.*}}off.stream = #off.stream<host_optimizer>
  %p2, %m2, %v2 = off.adam_step %ph, %gh, %m, %v {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32, #off.tier<host>>
  // CHECK-NEXT: %[[E1:.+]] = off.record {off.stream = #off.stream<host_optimizer>}
  // CHECK-NEXT: off.wait %[[E1]] {off.stream = #off.stream<h2d>}
  // CHECK-NEXT: off.prefetch %[[P2]] into
  %p3, %t2 = off.prefetch %p2 into %p from <host> to <device> {off.stream = #off.stream<h2d>}
      : tensor<8xf32, #off.tier<host>> into tensor<8xf32>
  off.free %p2 from <host> {off.stream = #off.stream<h2d>} : tensor<8xf32, #off.tier<host>>
  return %y : tensor<8xf32>
}

// -----

// Tests that one stream of kernels gets no event at all.
// CHECK-LABEL: func.func @compute_only
func.func @compute_only(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NOT: off.record
  // CHECK-NOT: off.wait
  // CHECK: off.neg %{{.+}} {off.stream = #off.stream<compute>}
  %a = off.neg %x : tensor<4xf32>
  // CHECK-NEXT: off.reshape %{{.+}} {off.stream = #off.stream<compute>}
  %b = off.reshape %a : tensor<4xf32> to tensor<2x2xf32>
  %c = off.reshape %b : tensor<2x2xf32> to tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// Tests that a moment staged from NVMe is written back after the update, on
// the nvme-write stream, with one record on the host-optimizer stream (which
// already follows the nvme-read of the same tensor).
// CHECK-LABEL: func.func @nvme
func.func @nvme(%g: tensor<8xf32, #off.tier<host>>) {
  %p = off.param "p" {trainable} : tensor<8xf32, #off.tier<host>>
  %m = off.state "p.exp_avg" : tensor<8xf32, #off.tier<nvme>>
  %v = off.state "p.exp_avg_sq" : tensor<8xf32, #off.tier<host>>
  // CHECK: %[[S:.+]], %[[ST:.+]] = off.prefetch %{{.+}} from <nvme> to <host> {off.stream = #off.stream<nvme_read>}
  %mh, %t0 = off.prefetch %m from <nvme> to <host> {off.stream = #off.stream<nvme_read>} : tensor<8xf32, #off.tier<nvme>>
  // CHECK-NEXT: off.wait %[[ST]] {off.stream = #off.stream<host_optimizer>}
  off.wait %t0
  // CHECK-NEXT: %{{.+}}, %[[M2:.+]], %{{.+}} = off.adam_step
  %p2, %m2, %v2 = off.adam_step %p, %g, %mh, %v {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32, #off.tier<host>>
  // CHECK-NEXT: %[[E:.+]] = off.record {off.stream = #off.stream<host_optimizer>}
  // CHECK-NEXT: off.wait %[[E]] {off.stream = #off.stream<nvme_write>}
  // CHECK-NEXT: off.offload %[[M2]] into %{{.+}} from <host> to <nvme> {off.stream = #off.stream<nvme_write>}
  %m3, %t1 = off.offload %m2 into %m from <host> to <nvme> {off.stream = #off.stream<nvme_write>}
      : tensor<8xf32, #off.tier<host>> into tensor<8xf32, #off.tier<nvme>>
  return
}
