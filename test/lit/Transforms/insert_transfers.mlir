// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place=place=params=host --off-insert-transfers | FileCheck %s --check-prefix=PARAMS
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place=place=optimizer=host --off-insert-transfers | FileCheck %s --check-prefix=OPT
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=1 --off-place=place=optimizer=host --off-insert-transfers | FileCheck %s --check-prefix=CLIP
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place=place=activations=host --off-insert-transfers | FileCheck %s --check-prefix=ACT
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place=place=params=nvme --off-insert-transfers | FileCheck %s --check-prefix=NVME
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-insert-transfers | FileCheck %s --check-prefix=NONE
// off-insert-transfers realises off-place's decisions with transfers,
// waits and frees, per group of uses.

// Tests that params on the host get the host tier in their type, that each
// layer's param is prefetched while the layer before runs, waited for right
// before its use and freed after it, once for the forward and once for the
// backward, and that AdamW on the device updates a copy it writes back.
// PARAMS-LABEL: func.func @train_step
// PARAMS: %[[W0:.+]] = off.param "model.layers.0.mlp.weight" {trainable} : tensor<8x8xf32, #off.tier<host>>
// PARAMS: %[[W1:.+]] = off.param "model.layers.1.mlp.weight" {trainable} : tensor<8x8xf32, #off.tier<host>>
// PARAMS: %[[D0:.+]], %[[T0:.+]] = off.prefetch %[[W0]] from <host> to <device> {off.stream = #off.stream<h2d>}
// PARAMS: off.embedding
// PARAMS: off.wait %[[T0]]
// PARAMS-NEXT: %[[D1:.+]], %[[T1:.+]] = off.prefetch %[[W1]] from <host> to <device> {off.stream = #off.stream<h2d>}
// PARAMS-NEXT: off.matmul %{{.+}}, %[[D0]] {transpose_rhs = true}
// PARAMS-NEXT: off.free %[[D0]] from <device> {off.stream = #off.stream<compute>}
// PARAMS: off.wait %[[T1]]
// PARAMS: off.matmul %{{.+}}, %[[D1]] {transpose_rhs = true}
// PARAMS-NEXT: off.free %[[D1]]
// PARAMS: off.cross_entropy_grad
// PARAMS: off.prefetch %[[W1]] from <host> to <device>
// PARAMS: %[[NEW:.+]], %{{.+}}, %{{.+}} = off.adam_step
// PARAMS-NEXT: off.offload %[[NEW]] into %{{.+}} from <device> to <host> {off.stream = #off.stream<d2h>}
// PARAMS-NEXT: off.free %[[NEW]] from <device> {off.stream = #off.stream<d2h>}

// Tests that with the moments on the host, AdamW runs there right after its
// gradient is final (copied off as soon as it is made) and its param's last
// use, without the norm it does not need, and its param is written back;
// the device gradient stays for the norm.
// OPT-LABEL: func.func @train_step
// OPT: %[[HEAD:.+]] = off.param "lm_head.weight"
// OPT: off.state "lm_head.weight.exp_avg" : tensor<16x8xf32, #off.tier<host>>
// OPT: %[[G:.+]] = off.matmul {{.*}}transpose_lhs = true{{.*}} -> tensor<16x8xf32>
// OPT-NEXT: %[[GH:.+]], %[[GT:.+]] = off.offload %[[G]] from <device> to <host> {off.stream = #off.stream<d2h>}
// OPT-NEXT: %[[PH:.+]], %[[PT:.+]] = off.offload %[[HEAD]] from <device> to <host> {off.stream = #off.stream<d2h>}
// OPT-NEXT: off.wait %[[PT]]
// OPT-NEXT: off.wait %[[GT]]
// OPT-NEXT: %[[NP:.+]], %{{.+}}, %{{.+}} = off.adam_step %[[PH]], %[[GH]], %{{[0-9]+}}, %{{[0-9]+}} {
// OPT-NEXT: off.prefetch %[[NP]] into %[[HEAD]] from <host> to <device> {off.stream = #off.stream<h2d>}
// OPT-NEXT: off.free %[[NP]] from <host> {off.stream = #off.stream<h2d>}
// OPT-NEXT: off.free %[[GH]] from <host> {off.stream = #off.stream<host_optimizer>}
// OPT-NEXT: off.sigmoid
// OPT: off.global_norm {{.*}}, %[[G]] :

// Tests that with clipping every AdamW waits for the norm (copied to the
// host once) and so stays after the backward.
// CLIP-LABEL: func.func @train_step
// CLIP: %[[N:.+]] = off.global_norm
// CLIP-NOT: off.adam_step
// CLIP: %[[NH:.+]], %{{.+}} = off.offload %[[N]] from <device> to <host>
// CLIP: off.adam_step {{.*}}, %[[NH]] {{{.*}}max_grad_norm
// CLIP-NOT: off.offload %[[N]]

// Tests that saved activations are offloaded as soon as they are made, their
// device copy freed after a wait once the next layer has begun and its own
// uses are over, and prefetched back for the backward; the last layer's,
// which the backward reads right away, stay on the device.
// ACT-LABEL: func.func @train_step
// ACT: %[[E:.+]] = off.embedding
// ACT-NEXT: %[[EH:.+]], %[[ET:.+]] = off.offload %[[E]] from <device> to <host> {off.stream = #off.stream<d2h>}
// ACT: %[[X1:.+]] = off.add %[[E]]
// ACT: off.wait %[[ET]] {off.stream = #off.stream<compute>}
// ACT-NEXT: off.free %[[E]] from <device> {off.stream = #off.stream<compute>}
// ACT: off.matmul %[[X1]]
// ACT: %[[X2:.+]] = off.add %[[X1]]
// ACT-NOT: off.offload %[[X2]]
// ACT: %[[M2:.+]] = off.matmul %[[X2]]
// ACT-NOT: off.offload %[[M2]]
// ACT: off.cross_entropy_grad
// ACT: off.wait %[[ET]] {off.stream = #off.stream<h2d>}
// ACT-NEXT: %[[EB:.+]], %[[EBT:.+]] = off.prefetch %[[EH]] from <host> to <device>
// ACT: off.wait %[[EBT]]
// ACT-NEXT: off.reshape %[[EB]]

// Tests that params on NVMe come through a host staging copy, freed on the
// h2d stream once the second hop has read it.
// NVME-LABEL: func.func @train_step
// NVME: %[[E:.+]] = off.param "model.embed_tokens.weight" {trainable} : tensor<16x8xf32, #off.tier<nvme>>
// NVME: %[[S:.+]], %[[ST:.+]] = off.prefetch %[[E]] from <nvme> to <host> {off.stream = #off.stream<nvme_read>}
// NVME-NEXT: off.wait %[[ST]] {off.stream = #off.stream<h2d>}
// NVME-NEXT: %[[D:.+]], %{{.+}} = off.prefetch %[[S]] from <host> to <device> {off.stream = #off.stream<h2d>}
// NVME-NEXT: off.free %[[S]] from <host> {off.stream = #off.stream<h2d>}
// NVME: off.embedding %[[D]]
// NVME: off.offload %{{.+}} from <device> to <host>
// NVME: off.offload %{{.+}} into %[[E]] from <host> to <nvme> {off.stream = #off.stream<nvme_write>}

// Tests that without decisions nothing moves.
// NONE-LABEL: func.func @train_step
// NONE-NOT: off.offload
// NONE-NOT: off.prefetch
// NONE-NOT: off.wait
// NONE-NOT: off.free
// NONE: return
