#include "runtime/backend/HostBackend.h"

#include "runtime/common/HumanSize.h"

#include <cstring>
#include <stdexcept>

namespace off::backend {

class HostArena final : public Arena {
public:
  HostArena(HostBackend &owner, Tier tier, HostMemory memory)
      : Arena(tier, memory.size(), memory.data(), true, memory.pinned()), owner_(owner),
        memory_(std::move(memory)) {}
  ~HostArena() override { owner_.released(tier(), size()); }

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
    : name_(std::move(name)), kernels_(&kernels) {}

std::unique_ptr<Arena> HostBackend::allocateArena(const ArenaRequest &request) {
  if (request.tier == Tier::Nvme)
    throw std::invalid_argument(request.label + " is on NVMe: the " + name_ +
                                " backend allocates device and host memory only");
  {
    std::lock_guard lock(mutex_);
    TierUsage &usage = usage_[size_t(request.tier)];
    if (request.budget && request.size > request.budget - std::min(request.budget, usage.current))
      throw std::runtime_error(
          request.label + " needs " + formatHumanSize(request.size) + " (" +
          std::to_string(request.size) + " bytes); with the " + tierName(request.tier) +
          " arenas already allocated (" + std::to_string(usage.current) +
          " bytes) that is over the " + tierName(request.tier) + " budget of " +
          std::to_string(request.budget) + " bytes");
    usage.current += request.size; // reserved; given back if the allocation fails
    usage.peak = std::max(usage.peak, usage.current);
  }
  try {
    HostMemoryOptions options = request.host;
    // The device tier stands in for GPU memory: it is not DMA'd, not pinned.
    options.pinned = request.tier == Tier::Host && request.pinned && request.host.pinned;
    return std::make_unique<HostArena>(*this, request.tier,
                                       HostMemory(request.size, request.label, options));
  } catch (...) {
    released(request.tier, request.size);
    throw;
  }
}

void HostBackend::released(Tier tier, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  usage_[size_t(tier)].current -= bytes;
}

TierUsage HostBackend::usage(Tier tier) const {
  std::lock_guard lock(mutex_);
  return usage_[size_t(tier)];
}

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
