// Host memory for arenas: one mapping per arena, optionally page-locked.
//
// Page-locked ("pinned") memory is what DMA engines copy from at full speed
// and what O_DIRECT reads land in without a bounce. On a CPU-only build it is
// mmap + mlock; on CUDA builds cudaHostAlloc, so the driver knows the pages.
// Both sit behind HostPinningApi so this library has no CUDA dependency.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace off::backend {

/// How page-locked memory is obtained and released.
class HostPinningApi {
public:
  virtual ~HostPinningApi() = default;
  virtual const char *name() const = 0;
  /// Returns the memory, or nullptr with `why` saying what the OS refused.
  virtual void *allocatePinned(uint64_t size, std::string &why) = 0;
  virtual void releasePinned(void *pointer, uint64_t size) = 0;
};

/// mmap + mlock.
HostPinningApi &mlockPinning();
/// cudaHostAlloc on CUDA builds (OFF_ENABLE_CUDA), mlock otherwise.
HostPinningApi &defaultHostPinning();

/// Thrown when pinning is refused and unpinned memory was not allowed.
class PinningError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct HostMemoryOptions {
  bool pinned = true;
  /// When pinning is refused: warn and continue with pageable memory
  /// instead of throwing PinningError.
  bool allowUnpinned = false;
  HostPinningApi *pinning = nullptr; // nullptr: defaultHostPinning()
  /// Where the "continuing unpinned" warning goes; nullptr: stderr.
  std::function<void(const std::string &)> warn;
};

/// One mapping of `size` bytes, released on destruction. Move-only.
class HostMemory {
public:
  HostMemory() = default;
  /// `label` names the arena in messages ("arena 'host'").
  HostMemory(uint64_t size, const std::string &label,
             const HostMemoryOptions &options = {});
  HostMemory(HostMemory &&other) noexcept;
  HostMemory &operator=(HostMemory &&other) noexcept;
  HostMemory(const HostMemory &) = delete;
  HostMemory &operator=(const HostMemory &) = delete;
  ~HostMemory();

  std::byte *data() const { return data_; }
  uint64_t size() const { return size_; }
  /// True when the pages are locked (false for unpinned requests and for
  /// the allowUnpinned fallback).
  bool pinned() const { return pinnedBy_ != nullptr; }

private:
  void release();
  std::byte *data_ = nullptr;
  uint64_t size_ = 0;
  HostPinningApi *pinnedBy_ = nullptr;
};

/// The message for a refused pin: how much was requested, how much this
/// process may lock (RLIMIT_MEMLOCK) and already has, and how to raise the
/// limit. `osReason` is what the OS said.
std::string pinningRefusedMessage(uint64_t requested, const std::string &label,
                                  const std::string &osReason);

} // namespace off::backend
