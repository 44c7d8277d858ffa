// The host optimizer's kernels, by op name, as a backend kernel table: what
// a plan's host-optimizer stream runs (and, on the CPU backend, what its
// compute stream runs for the same ops). Bound and launched like every other
// kernel; the step count, a learning-rate override and the thread pool come
// from the launch's backend::StepContext.
//
//   adam_step   inputs  param [*], grad [*], exp_avg [*], exp_avg_sq [*]
//                       (one shape; f32, grad f32 or bf16), norm [] f32
//                       (optional)
//               outputs new_param, new_exp_avg, new_exp_avg_sq [*] f32,
//                       compute_copy [*] bf16 or f32 (optional: the
//                       updated param rounded to its dtype, written in the
//                       same pass; a mixed-precision plan's bf16 weights)
//               attrs   lr, beta1, beta2, eps, weight_decay, max_grad_norm
//                       (optional: needs `norm`; clips as
//                       torch.nn.utils.clip_grad_norm_)
//
// adam_step runs torch.optim.AdamW's update (AdamW.h) on g = grad * c, where
// c is the clip coefficient (clipCoefficient(norm, max_grad_norm), or 1):
// the same bits as torch's clip_grad_norm_ (grads multiplied in place) then
// AdamW, without writing the gradient, which the op only reads. The plan
// makes the outputs the storage of param, exp_avg and exp_avg_sq (an update
// in place); given other buffers, the kernel copies the inputs there first
// and updates those, leaving its inputs as they were.
#pragma once

#include "runtime/backend/Kernel.h"

namespace off::optim {

const backend::KernelTable &hostOptimizerKernels();

} // namespace off::optim
