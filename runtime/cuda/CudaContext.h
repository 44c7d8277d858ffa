// What the CUDA backend's parts share (C++ only): CUDA error checks, the
// CudaStream type kernels enqueue on, and the device buffer where kernels
// record data errors (CudaKernels.h), read back at synchronize.
#pragma once

#include "runtime/backend/Backend.h"

#include <cuda_runtime_api.h>

#include <string>

namespace off::cuda {

/// Throws std::runtime_error "<what>: <CUDA's message>" unless err is success.
void check(cudaError_t err, const char *what);

/// A backend stream: a CUDA stream (non-blocking). Streams of a host kind
/// have one too, idle, so that events recorded there complete at once.
class CudaStream final : public backend::Stream {
public:
  CudaStream(StreamKind kind, const std::string &name);
  ~CudaStream() override;
  cudaStream_t stream = nullptr;
};

/// The stream a kernel call enqueues on (the legacy default stream for a
/// direct call without one).
cudaStream_t streamOf(const backend::Stream *stream);

/// The device's data-error record (4 int64, zero when none), allocated on
/// first use.
int64_t *deviceErrors();
/// Reads the record (synchronously); if set, clears it and throws
/// std::runtime_error naming the op, the position and the value.
void throwDeviceError();

} // namespace off::cuda
