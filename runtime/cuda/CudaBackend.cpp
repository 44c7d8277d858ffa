#include "runtime/cuda/CudaBackend.h"

#include "runtime/backend/TierAccount.h"
#include "runtime/cuda/CudaContext.h"
#include "runtime/cuda/CublasLt.h"
#include "runtime/common/HumanSize.h"
#include "runtime/optim/HostOptimizerKernels.h"

#include <cuda_runtime_api.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace off::cuda {

namespace {

using backend::Arena;
using backend::ArenaRequest;
using backend::Event;
using backend::Stream;
using backend::TierUsage;

class CudaBackendImpl;

class DeviceArena final : public Arena {
public:
  DeviceArena(CudaBackendImpl &owner, uint64_t size, std::byte *data)
      : Arena(Tier::Device, size, data, false, false), owner_(owner) {}
  ~DeviceArena() override;

private:
  CudaBackendImpl &owner_;
};

class PinnedArena final : public Arena {
public:
  PinnedArena(CudaBackendImpl &owner, backend::HostMemory memory)
      : Arena(Tier::Host, memory.size(), memory.data(), true, memory.pinned()), owner_(owner),
        memory_(std::move(memory)) {}
  ~PinnedArena() override;

private:
  CudaBackendImpl &owner_;
  backend::HostMemory memory_;
};

class CudaEvent final : public Event {
public:
  CudaEvent() { check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreate"); }
  ~CudaEvent() override { cudaEventDestroy(event); }
  cudaEvent_t event = nullptr;
};

class CudaBackendImpl final : public backend::Backend {
public:
  explicit CudaBackendImpl(int device) : device_(device) {
    // Profiling knob: offrt --profile times a kernel from its launch to its
    // completion on the stream's thread, which on CUDA is the launch alone;
    // synchronizing after each kernel makes that the kernel's time (and
    // serializes the step: not for measuring step time).
    const char *sync = std::getenv("OFF_CUDA_SYNC_EACH_KERNEL");
    syncEachKernel_ = sync && std::strcmp(sync, "1") == 0;
  }

  const std::string &name() const override { return name_; }
  bool computesOnHost() const override { return false; }

  const backend::KernelTable &kernels(StreamKind kind) const override {
    return kind == StreamKind::HostOptimizer ? optim::hostOptimizerKernels() : cudaKernels();
  }

  std::unique_ptr<Arena> allocateArena(const ArenaRequest &request) override {
    if (request.tier == Tier::Nvme)
      throw std::invalid_argument(request.label + " is on NVMe: the cuda backend allocates "
                                                  "device and host memory only");
    account_.reserve(request);
    try {
      if (request.tier == Tier::Host) {
        backend::HostMemoryOptions options = request.host;
        options.pinned = request.pinned && request.host.pinned;
        return std::make_unique<PinnedArena>(
            *this, backend::HostMemory(request.size, request.label, options));
      }
      selectDevice();
      void *data = nullptr;
      if (request.size) {
        cudaError_t err = cudaMalloc(&data, request.size);
        if (err != cudaSuccess) {
          cudaGetLastError();
          throw std::runtime_error(request.label + ": cudaMalloc of " +
                                   formatHumanSize(request.size) + " failed: " +
                                   cudaGetErrorString(err));
        }
      }
      return std::make_unique<DeviceArena>(*this, request.size, static_cast<std::byte *>(data));
    } catch (...) {
      account_.release(request.tier, request.size);
      throw;
    }
  }

  TierUsage usage(Tier tier) const override { return account_.usage(tier); }

  std::unique_ptr<Stream> createStream(StreamKind kind, const std::string &name) override {
    selectDevice();
    return std::make_unique<CudaStream>(kind, name);
  }

  std::unique_ptr<Event> createEvent() override {
    selectDevice();
    return std::make_unique<CudaEvent>();
  }

  void launch(Stream &stream, const backend::BoundKernel &kernel,
              std::span<void *const> inputs, std::span<void *const> outputs,
              std::span<std::byte> workspace, const backend::StepContext &step) override {
    selectDevice();
    kernel.run(inputs, outputs, workspace, &step, &stream);
    if (syncEachKernel_ && !runsOnHost(stream.kind()))
      synchronize(stream);
  }

  void copy(Stream &stream, void *dst, const void *src, uint64_t bytes) override {
    if (!bytes)
      return;
    selectDevice();
    auto &s = static_cast<CudaStream &>(stream);
    if (runsOnHost(stream.kind()))
      check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy on a host stream");
    else
      check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s.stream), "cudaMemcpyAsync");
  }

  void hostTask(Stream &stream, FunctionRef<void()> task) override {
    if (!runsOnHost(stream.kind()))
      synchronize(stream); // the task runs after the stream's work, on this thread
    task();
  }

  void record(Stream &stream, Event &event) override {
    check(cudaEventRecord(static_cast<CudaEvent &>(event).event,
                          static_cast<CudaStream &>(stream).stream),
          "cudaEventRecord");
  }

  void wait(Stream &stream, Event &event) override {
    cudaEvent_t e = static_cast<CudaEvent &>(event).event;
    if (runsOnHost(stream.kind()))
      check(cudaEventSynchronize(e), "cudaEventSynchronize");
    else
      check(cudaStreamWaitEvent(static_cast<CudaStream &>(stream).stream, e, 0),
            "cudaStreamWaitEvent");
  }

  void synchronize(Stream &stream) override {
    selectDevice();
    check(cudaStreamSynchronize(static_cast<CudaStream &>(stream).stream),
          "cudaStreamSynchronize");
    throwDeviceError();
  }

  void upload(void *dst, const void *hostSrc, uint64_t bytes) override {
    if (!bytes)
      return;
    selectDevice();
    check(cudaMemcpy(dst, hostSrc, bytes, cudaMemcpyDefault), "upload (cudaMemcpy)");
  }

  void download(void *hostDst, const void *src, uint64_t bytes) override {
    if (!bytes)
      return;
    selectDevice();
    check(cudaMemcpy(hostDst, src, bytes, cudaMemcpyDefault), "download (cudaMemcpy)");
    throwDeviceError();
  }

  void released(Tier tier, uint64_t bytes) { account_.release(tier, bytes); }

  void selectDevice() const { check(cudaSetDevice(device_), "cudaSetDevice"); }

private:
  std::string name_ = "cuda";
  int device_;
  bool syncEachKernel_ = false;
  backend::TierAccount account_;
};

DeviceArena::~DeviceArena() {
  if (data())
    cudaFree(data());
  owner_.released(Tier::Device, size());
}

PinnedArena::~PinnedArena() { owner_.released(Tier::Host, size()); }

int chosenDevice() {
  const char *env = std::getenv("OFF_CUDA_DEVICE");
  return env && *env ? std::atoi(env) : 0;
}

} // namespace

bool cudaUsable(std::string *why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why)
      *why = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return false;
  }
  int device = chosenDevice();
  if (device < 0 || device >= count) {
    if (why)
      *why = "no CUDA device " + std::to_string(device) + " (" + std::to_string(count) +
             " device(s))";
    return false;
  }
  return true;
}

backend::Backend *cudaBackendIfUsable() {
  static CudaBackendImpl *backend = [] {
    if (!cudaUsable())
      return static_cast<CudaBackendImpl *>(nullptr);
    auto *b = new CudaBackendImpl(chosenDevice());
    b->selectDevice();
    deviceErrors(); // allocated now, never inside a step
    return b;
  }();
  return backend;
}

std::string cudaGemmPath() {
  CublasLt &lt = CublasLt::instance();
  return lt.available() ? "cuBLASLt (" + lt.where() + ")"
                        : "own fp32 GEMM (cuBLASLt " + lt.where() + ")";
}

} // namespace off::cuda
