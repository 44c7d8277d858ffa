#include "runtime/cuda/CudaContext.h"

#include "runtime/cuda/CudaKernels.h"

#include <mutex>
#include <stdexcept>

namespace off::cuda {

void check(cudaError_t err, const char *what) {
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
  }
}

CudaStream::CudaStream(StreamKind kind, const std::string &name) : Stream(kind, name) {
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
}

CudaStream::~CudaStream() { cudaStreamDestroy(stream); }

cudaStream_t streamOf(const backend::Stream *stream) {
  auto *s = dynamic_cast<const CudaStream *>(stream);
  return s ? s->stream : cudaStream_t(nullptr);
}

namespace {
std::once_flag errorsOnce;
int64_t *errorsBuffer = nullptr;
} // namespace

int64_t *deviceErrors() {
  std::call_once(errorsOnce, [] {
    void *p = nullptr;
    check(cudaMalloc(&p, 4 * sizeof(int64_t)), "cudaMalloc (error record)");
    check(cudaMemset(p, 0, 4 * sizeof(int64_t)), "cudaMemset (error record)");
    errorsBuffer = static_cast<int64_t *>(p);
  });
  return errorsBuffer;
}

void throwDeviceError() {
  if (!errorsBuffer)
    return;
  int64_t record[4] = {};
  check(cudaMemcpy(record, errorsBuffer, sizeof record, cudaMemcpyDeviceToHost),
        "reading the kernels' error record");
  if (record[0] == 0)
    return;
  check(cudaMemset(errorsBuffer, 0, sizeof record), "clearing the kernels' error record");
  const char *op = "kernel", *what = "index";
  switch (DeviceError(record[0])) {
  case DeviceError::EmbeddingId: op = "embedding", what = "id"; break;
  case DeviceError::EmbeddingGradId: op = "embedding_grad", what = "id"; break;
  case DeviceError::GatherIndex: op = "gather"; break;
  case DeviceError::GatherGradIndex: op = "gather_grad"; break;
  case DeviceError::CrossEntropyTarget: op = "cross_entropy", what = "target"; break;
  case DeviceError::CrossEntropyGradTarget: op = "cross_entropy_grad", what = "target"; break;
  default: break;
  }
  bool wraps = DeviceError(record[0]) == DeviceError::GatherIndex ||
               DeviceError(record[0]) == DeviceError::GatherGradIndex;
  throw std::runtime_error(std::string(op) + ": " + what + " " + std::to_string(record[2]) +
                           " at position " + std::to_string(record[1]) + " is outside [" +
                           (wraps ? "-" + std::to_string(record[3]) : std::string("0")) + ", " +
                           std::to_string(record[3]) + ")");
}

} // namespace off::cuda
