// The CUDA backend: runtime/backend's interface on one GPU. Arenas are one
// cudaMalloc each (device tier) or one pinned host mapping (cudaHostAlloc,
// counted in the host budget); streams are CUDA streams and events CUDA
// events (cudaStreamWaitEvent between device streams, cudaEventSynchronize
// for the streams the host runs); kernels enqueue on their stream and the
// backend never synchronizes the device inside a step. The kernels are
// cudaKernels() on device streams and runtime/optim's host table on the
// host optimizer's stream.
#pragma once

#include "runtime/backend/Backend.h"

#include <string>

namespace off::cuda {

/// Whether this process can use a CUDA device; `why` says why not.
bool cudaUsable(std::string *why = nullptr);

/// The CUDA backend on device 0 (OFF_CUDA_DEVICE=N picks another), or
/// nullptr when no device is usable.
backend::Backend *cudaBackendIfUsable();

/// Every off op's CUDA kernel by name, validated as the CPU table validates
/// (the same validate functions), plus a device adam_step.
const backend::KernelTable &cudaKernels();

/// Which GEMM matrix products use: "cuBLASLt (<path>)" or "own fp32 GEMM
/// (cuBLASLt not found ...)".
std::string cudaGemmPath();

} // namespace off::cuda
