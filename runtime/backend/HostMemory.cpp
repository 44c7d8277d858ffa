#include "runtime/backend/HostMemory.h"

#include "runtime/common/HumanSize.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

namespace off::backend {
namespace {

std::string limitText(rlim_t limit) {
  return limit == RLIM_INFINITY ? std::string("unlimited")
                                : formatHumanSize(limit);
}

// A line "Key:   value" of /proc/self/status, or "" when absent.
std::string procStatusField(const std::string &key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) {
      size_t start = line.find_first_not_of(" \t", key.size() + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  return "";
}

uint64_t lockedBytes() {
  // "VmLck:     1234 kB"
  std::string field = procStatusField("VmLck");
  return field.empty() ? 0 : std::stoull(field) * 1024;
}

// CAP_IPC_LOCK (bit 14 of the effective set) lifts RLIMIT_MEMLOCK.
bool holdsIpcLock() {
  std::string field = procStatusField("CapEff");
  if (field.empty())
    return false;
  return (std::stoull(field, nullptr, 16) >> 14) & 1;
}

void *mapAnonymous(uint64_t size, std::string &why) {
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    why = std::string("mmap failed: ") + std::strerror(errno);
    return nullptr;
  }
  // Large arenas are read in long sweeps: huge pages spare TLB misses.
  // Advice only; refusal is harmless.
  if (size >= (uint64_t(2) << 20))
    madvise(p, size, MADV_HUGEPAGE);
  return p;
}

class MlockPinning final : public HostPinningApi {
public:
  const char *name() const override { return "mlock"; }
  void *allocatePinned(uint64_t size, std::string &why) override {
    void *p = mapAnonymous(size, why);
    if (!p)
      return nullptr;
    // The raw syscall: sanitizer runtimes replace mlock() with a no-op, and
    // the TSan build of the tests must see the real refusal.
    if (syscall(SYS_mlock, p, size) != 0) {
      why = std::string("mlock failed: ") + std::strerror(errno);
      munmap(p, size);
      return nullptr;
    }
    return p;
  }
  void releasePinned(void *pointer, uint64_t size) override {
    munmap(pointer, size); // also unlocks
  }
};

} // namespace

HostPinningApi &mlockPinning() {
  static MlockPinning instance;
  return instance;
}

#ifndef OFF_BACKEND_HAVE_CUDA_PINNING
HostPinningApi &defaultHostPinning() { return mlockPinning(); }
#endif

std::string pinningRefusedMessage(uint64_t requested, const std::string &label,
                                  const std::string &osReason) {
  rlimit limit{};
  getrlimit(RLIMIT_MEMLOCK, &limit);
  uint64_t locked = lockedBytes();
  std::string message = "cannot pin " + formatHumanSize(requested) + " (" +
                        std::to_string(requested) + " bytes) of host memory "
                        "for " + label + ": " + osReason + ". ";
  if (holdsIpcLock() || limit.rlim_cur == RLIM_INFINITY) {
    message += "The locked-memory limit does not apply to this process "
               "(unlimited or CAP_IPC_LOCK), so the system itself is short "
               "of memory it can lock (" + procStatusField("VmLck") +
               " locked already; see MemAvailable in /proc/meminfo).";
  } else {
    uint64_t available = limit.rlim_cur > locked ? limit.rlim_cur - locked : 0;
    message += "This process may lock at most " + formatHumanSize(available) +
               " more (RLIMIT_MEMLOCK soft limit " + limitText(limit.rlim_cur) +
               ", hard limit " + limitText(limit.rlim_max) + ", " +
               formatHumanSize(locked) + " locked already). To raise it: "
               "`ulimit -l unlimited` in the shell that starts offrt (up to "
               "the hard limit); for a user, add '<user> - memlock unlimited' "
               "to /etc/security/limits.conf and log in again; for a systemd "
               "service, LimitMEMLOCK=infinity; in a container, "
               "--ulimit memlock=-1.";
  }
  message += " Or continue with pageable memory (--allow-unpinned): "
             "host<->device copies and O_DIRECT reads will be slower.";
  return message;
}

HostMemory::HostMemory(uint64_t size, const std::string &label,
                       const HostMemoryOptions &options)
    : size_(size) {
  if (size == 0)
    return;
  std::string why;
  if (options.pinned) {
    HostPinningApi &api =
        options.pinning ? *options.pinning : defaultHostPinning();
    data_ = static_cast<std::byte *>(api.allocatePinned(size, why));
    if (data_) {
      pinnedBy_ = &api;
      return;
    }
    std::string message = pinningRefusedMessage(size, label, why);
    if (!options.allowUnpinned)
      throw PinningError(message);
    std::string warning = "warning: " + message +
                          " Continuing with unpinned memory as allowed.";
    if (options.warn)
      options.warn(warning);
    else
      std::cerr << warning << "\n";
  }
  data_ = static_cast<std::byte *>(mapAnonymous(size, why));
  if (!data_)
    throw std::runtime_error("cannot allocate " + formatHumanSize(size) +
                             " of host memory for " + label + ": " + why);
}

HostMemory::HostMemory(HostMemory &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      pinnedBy_(std::exchange(other.pinnedBy_, nullptr)) {}

HostMemory &HostMemory::operator=(HostMemory &&other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    pinnedBy_ = std::exchange(other.pinnedBy_, nullptr);
  }
  return *this;
}

HostMemory::~HostMemory() { release(); }

void HostMemory::release() {
  if (!data_)
    return;
  if (pinnedBy_)
    pinnedBy_->releasePinned(data_, size_);
  else
    munmap(data_, size_);
  data_ = nullptr;
  pinnedBy_ = nullptr;
}

} // namespace off::backend
