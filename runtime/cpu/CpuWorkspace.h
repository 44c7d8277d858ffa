// The CPU kernels' workspace rule: the scratch bytes one call needs, from
// its op, shapes, dtypes and attributes only (never the thread count). The
// kernel table hands it to every entry (KernelEntry::workspace), and the
// compiler sizes each kernel's WORKSPACE tensor in plan.bin with the same
// function, so both agree by construction. Library off_cpu_workspace: shape
// arithmetic only, no kernels, so offc links it without OpenBLAS.
#pragma once

#include "runtime/backend/Kernel.h"

#include <cstdint>

namespace off::cpu {

/// Bytes of workspace `call` needs on the CPU backend: rms_norm_grad,
/// cross_entropy, attention, attention_grad, softmax and softmax_grad along
/// a strided axis, global_norm; 0 for the other ops. The call must be one
/// the kernel's validate accepts.
uint64_t cpuWorkspaceBytes(const backend::KernelCall &call);

} // namespace off::cpu
