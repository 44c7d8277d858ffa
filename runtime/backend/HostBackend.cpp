#include "runtime/backend/HostBackend.h"


#include <cstdlib>
#include <cstring>
#include <string_view>
#include <stdexcept>

namespace off::backend {

class HostArena final : public Arena {
public:
  HostArena(HostBackend &owner, Tier tier, HostMemory memory, bool hostAccessible)
      : Arena(tier, memory.size(), memory.data(), hostAccessible, memory.pinned()), owner_(owner),
        memory_(std::move(memory)) {}
  ~HostArena() override { owner_.accountOf().release(tier(), size()); }

private:
  HostBackend &owner_;
  HostMemory memory_;
};

namespace {
class HostStream final : public Stream {
public:
  HostStream(StreamKind kind, const std::string &name) : Stream(kind, name) {}
};

class HostEvent final : public Event {};
} // namespace

HostBackend::HostBackend(std::string name, const KernelTable &kernels)
    : name_(std::move(name)), kernels_(&kernels) {
  // Test knob: the device tier behaves like a GPU's memory, which the host
  // cannot address, so that the code reading and writing tensors between and
  // during runs takes its staged path (read / write) on a machine with no GPU.
  const char *opaque = std::getenv("OFF_TEST_DEVICE_NOT_HOST_ADDRESSABLE");
  deviceHostAccessible_ = !(opaque && std::string_view(opaque) == "1");
}

std::unique_ptr<Arena> HostBackend::allocateArena(const ArenaRequest &request) {
  if (request.tier == Tier::Nvme)
    throw std::invalid_argument(request.label + " is on NVMe: the " + name_ +
                                " backend allocates device and host memory only");
  account_.reserve(request); // given back if the allocation fails
  try {
    HostMemoryOptions options = request.host;
    // The device tier stands in for GPU memory: it is not DMA'd, not pinned.
    options.pinned = request.tier == Tier::Host && request.pinned && request.host.pinned;
    return std::make_unique<HostArena>(*this, request.tier,
                                       HostMemory(request.size, request.label, options),
                                       request.tier != Tier::Device || deviceHostAccessible_);
  } catch (...) {
    account_.release(request.tier, request.size);
    throw;
  }
}

TierUsage HostBackend::usage(Tier tier) const { return account_.usage(tier); }

std::unique_ptr<Stream> HostBackend::createStream(StreamKind kind, const std::string &name) {
  return std::make_unique<HostStream>(kind, name);
}

std::unique_ptr<Event> HostBackend::createEvent() { return std::make_unique<HostEvent>(); }

void HostBackend::launch(Stream &stream, const BoundKernel &kernel,
                         std::span<void *const> inputs, std::span<void *const> outputs,
                         std::span<std::byte> workspace, const StepContext &step) {
  kernel.run(inputs, outputs, workspace, &step, &stream);
}

void HostBackend::copy(Stream &, void *dst, const void *src, uint64_t bytes) {
  if (bytes)
    std::memcpy(dst, src, bytes);
}

void HostBackend::hostTask(Stream &, FunctionRef<void()> task) { task(); }

void HostBackend::upload(void *dst, const void *hostSrc, uint64_t bytes) {
  if (bytes)
    std::memcpy(dst, hostSrc, bytes);
}

void HostBackend::download(void *hostDst, const void *src, uint64_t bytes) {
  if (bytes)
    std::memcpy(hostDst, src, bytes);
}

} // namespace off::backend
