// What this machine's CPU offers and which kernels the CPU backend runs on
// it: for `offrt --version` and every benchmark's header, so that a
// measurement names the ISA it ran.
#pragma once

#include <string>

namespace off::cpu {

/// "AMD EPYC" (/proc/cpuinfo's model name; "unknown CPU" elsewhere).
std::string cpuModelName();
/// The vector ISA flags that matter here, those the CPU has:
/// "avx2 fma avx512f avx512_bf16 amx_tile amx_bf16" (a subset).
std::string cpuIsaFlags();
/// Lines "cpu: ...", "isa: ...", "f32 gemm: ...", "bf16 gemm: ...", "adamw: ...".
std::string cpuBackendDescription();

} // namespace off::cpu
