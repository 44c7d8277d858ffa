// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place="place=optimizer=host,model.layers.1.*=nvme" | FileCheck %s --check-prefix=RULES
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place="place=params=host,params=device" | FileCheck %s --check-prefix=OVERRIDE
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place="place=activations=host" | FileCheck %s --check-prefix=ACT
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff="clip=0 grad-accum=2" --off-place="place=grads=nvme" | FileCheck %s --check-prefix=GRADS
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff="clip=0 grad-accum=2" --off-place="place=grads=host,model.layers.1.*.grad=device,model.layers.*=host" | FileCheck %s --check-prefix=GRADPAT
// RUN: off-opt %S/Inputs/three_layers.mlir --off-autodiff=clip=0 --off-place | FileCheck %s --check-prefix=NONE
// off-place records where params, optimizer states, gradients and saved
// activations live as `off.home` on their defining op, rule by rule.

// Tests that a class and a later glob both apply, the glob winning for the
// param and the states it matches.
// RULES-LABEL: func.func @train_step
// RULES: off.param "model.embed_tokens.weight" {trainable}
// RULES: off.param "model.layers.1.mlp.weight" {off.home = #off.tier<nvme>, trainable}
// RULES: off.param "model.layers.2.mlp.weight" {trainable}
// RULES: off.state "model.embed_tokens.weight.exp_avg" {off.home = #off.tier<host>}
// RULES: off.state "model.layers.1.mlp.weight.exp_avg" {off.home = #off.tier<nvme>}
// RULES: off.state "model.layers.1.mlp.weight.exp_avg_sq" {off.home = #off.tier<nvme>}
// RULES: off.state "model.layers.2.mlp.weight.exp_avg" {off.home = #off.tier<host>}

// Tests that a later rule overrides an earlier one back to the device (no
// attribute at all).
// OVERRIDE-LABEL: func.func @train_step
// OVERRIDE-NOT: off.home

// Tests that only forward values the backward reads are activations: the
// embedding output and each layer's matmul and residual sum, not the silu
// (the backward recomputes sigmoid from the matmul), the input ids (views of
// an input) or the loss (an output).
// ACT-LABEL: func.func @train_step
// ACT-NOT: off.reshape {{.*}}off.home
// ACT: off.embedding {{.*}} {off.home = #off.tier<host>}
// ACT-NEXT: off.matmul {{.*}} {off.home = #off.tier<host>, transpose_rhs = true}
// ACT-NEXT: off.silu
// ACT-NOT: off.home
// ACT-NEXT: off.add {{.*}} {off.home = #off.tier<host>}
// ACT: off.cross_entropy %{{[0-9]+}}, %{{[0-9]+}} :
// ACT-NEXT: off.cross_entropy_grad
// ACT-NOT: off.home
// ACT: return

// Tests that with two micro-batches the gradients are the final sums and the
// first micro-batch's partial ones they are accumulated from.
// GRADS-LABEL: func.func @train_step
// GRADS-COUNT-4: off.matmul {{.*}}off.home = #off.tier<nvme>, transpose_lhs = true
// GRADS: off.embedding_grad {{.*}}off.home = #off.tier<nvme>
// GRADS-NOT: off.home
// GRADS: off.cross_entropy_grad
// GRADS-NOT: off.home
// GRADS: off.embedding_grad
// GRADS-COUNT-5: off.add {{.*}} {off.home = #off.tier<nvme>}
// GRADS: off.global_norm

// Tests that no rule changes nothing.
// NONE-LABEL: func.func @train_step
// NONE-NOT: off.home

// Tests that a pattern ending in ".grad" names gradients, "<param name>.grad"
// (the sum AdamW reads and the partial sums it is accumulated from), and only
// them: layer 1's two stay on the device against grads=host, while
// model.layers.*=host moves params and states but no gradient.
// GRADPAT-LABEL: func.func @train_step
// GRADPAT: off.param "model.layers.1.mlp.weight" {off.home = #off.tier<host>, trainable}
// GRADPAT: off.matmul {{.*}}off.home = #off.tier<host>, transpose_lhs = true
// GRADPAT: off.matmul {{.*}}off.home = #off.tier<host>, transpose_lhs = true
// GRADPAT-NOT: off.home
// GRADPAT: off.matmul {{.*}}transpose_lhs = true
// GRADPAT-NOT: off.home
// GRADPAT: off.matmul {{.*}}off.home = #off.tier<host>, transpose_lhs = true
// GRADPAT: off.embedding_grad {{.*}}off.home = #off.tier<host>
// GRADPAT: off.add {{.*}} {off.home = #off.tier<host>}
// GRADPAT: off.add {{.*}} {off.home = #off.tier<host>}
// GRADPAT-NOT: off.home
// GRADPAT: off.add
// GRADPAT-NOT: off.home
// GRADPAT: off.add {{.*}} {off.home = #off.tier<host>}
// GRADPAT: off.add {{.*}} {off.home = #off.tier<host>}
