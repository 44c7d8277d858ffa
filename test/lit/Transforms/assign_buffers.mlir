// RUN: off-opt %s --split-input-file --off-assign-buffers | FileCheck %s
// off-assign-buffers: one arena per tier, offsets from lifetimes ordered by
// the streams; views share their source's bytes.

// Tests that on one stream a buffer reuses the bytes of one that died before
// it was written, that views (reshapes) sit at their source's offset and
// keep it alive, and that the output lives to the end.
// CHECK-LABEL: func.func @one_stream
// CHECK-SAME: attributes {off.arena_sizes = {device = 192 : i64}, off.arg_offsets = array<i64: 0>}
func.func @one_stream(%x: tensor<16xf32>) -> tensor<16xf32> {
  // CHECK-NEXT: off.neg {{.*}}off.offsets = array<i64: 64>
  %a = off.neg %x {off.stream = #off.stream<compute>} : tensor<16xf32>
  // CHECK-NEXT: off.neg {{.*}}off.offsets = array<i64: 128>
  %b = off.neg %a {off.stream = #off.stream<compute>} : tensor<16xf32>
  // CHECK-NEXT: off.neg {{.*}}off.offsets = array<i64: 64>
  %c = off.neg %b {off.stream = #off.stream<compute>} : tensor<16xf32>
  // CHECK-NEXT: off.reshape {{.*}}off.offsets = array<i64: 64>
  %v = off.reshape %c {off.stream = #off.stream<compute>} : tensor<16xf32> to tensor<4x4xf32>
  // CHECK-NEXT: off.reshape {{.*}}off.offsets = array<i64: 64>
  %d = off.reshape %v {off.stream = #off.stream<compute>} : tensor<4x4xf32> to tensor<16xf32>
  // CHECK-NEXT: off.neg {{.*}}off.offsets = array<i64: 128>
  %e = off.neg %d {off.stream = #off.stream<compute>} : tensor<16xf32>
  return %e : tensor<16xf32>
}

// -----

// Tests that bytes a d2h copy reads are not reused by the compute stream
// until it has waited for the copy, and that each tier has its own arena.
// CHECK-LABEL: func.func @streams
// CHECK-SAME: off.arena_sizes = {device = 256 : i64, host = 64 : i64}
func.func @streams(%x: tensor<16xf32>) -> tensor<16xf32> {
  // CHECK: off.neg {{.*}}off.offsets = array<i64: 64>
  %a = off.neg %x {off.stream = #off.stream<compute>} : tensor<16xf32>
  %e0 = off.record {off.stream = #off.stream<compute>}
  off.wait %e0 {off.stream = #off.stream<d2h>}
  // CHECK: off.offload {{.*}}off.offsets = array<i64: 0>
  %h, %t = off.offload %a from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<16xf32>
  // CHECK-NEXT: off.neg {{.*}}off.offsets = array<i64: 128>
  %b = off.neg %x {off.stream = #off.stream<compute>} : tensor<16xf32>
  // CHECK-NEXT: off.neg {{.*}}off.offsets = array<i64: 192>
  %c = off.neg %b {off.stream = #off.stream<compute>} : tensor<16xf32>
  off.wait %t {off.stream = #off.stream<compute>}
  // CHECK: off.neg {{.*}}off.offsets = array<i64: 64>
  %d = off.neg %c {off.stream = #off.stream<compute>} : tensor<16xf32>
  return %d : tensor<16xf32>
}

// -----

// Tests that AdamW's results and a write-back `into` a param use the bytes
// of the param and states they update, and that params and states live for
// the whole step (never shared; the input %g takes the host arena's start).
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: off.arena_sizes = {device = 64 : i64, host = 256 : i64}
func.func @in_place(%g: tensor<8xf32, #off.tier<host>>) {
  // CHECK: off.param "p" {off.offsets = array<i64: 0>
  %p = off.param "p" {trainable} : tensor<8xf32>
  // CHECK: off.state "m" {off.offsets = array<i64: 64>}
  %m = off.state "m" : tensor<8xf32, #off.tier<host>>
  // CHECK: off.state "v" {off.offsets = array<i64: 128>}
  %v = off.state "v" : tensor<8xf32, #off.tier<host>>
  // CHECK: off.offload {{.*}}off.offsets = array<i64: 192>
  %ph, %t0 = off.offload %p from <device> to <host> {off.stream = #off.stream<d2h>} : tensor<8xf32>
  off.wait %t0 {off.stream = #off.stream<host_optimizer>}
  // CHECK: off.adam_step {{.*}}off.offsets = array<i64: 192, 64, 128>
  %p2, %m2, %v2 = off.adam_step %ph, %g, %m, %v {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64,
      off.stream = #off.stream<host_optimizer>} : tensor<8xf32, #off.tier<host>>
  %e = off.record {off.stream = #off.stream<host_optimizer>}
  off.wait %e {off.stream = #off.stream<h2d>}
  // CHECK: off.prefetch {{.*}}off.offsets = array<i64: 0>
  %p3, %t1 = off.prefetch %p2 into %p from <host> to <device> {off.stream = #off.stream<h2d>}
      : tensor<8xf32, #off.tier<host>> into tensor<8xf32>
  return
}
