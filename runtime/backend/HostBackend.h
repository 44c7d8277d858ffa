// A backend whose memory is host memory and whose streams are the calling
// threads: every call does its work before returning (launch runs the
// kernel, copy is memcpy, events need nothing beyond the executor's order).
// The device tier is host memory standing in for GPU memory, capped at the
// same budget. The CPU backend is this with the CPU kernels
// (runtime/cpu/CpuBackend.h); the executor's tests use it with their own
// kernels.
#pragma once

#include "runtime/backend/Backend.h"
#include "runtime/backend/TierAccount.h"

#include <array>
#include <atomic>
#include <mutex>

namespace off::backend {

class HostBackend : public Backend {
public:
  /// `kernels` is what every stream kind runs; not owned.
  HostBackend(std::string name, const KernelTable &kernels);

  const std::string &name() const override { return name_; }
  const KernelTable &kernels(StreamKind) const override { return *kernels_; }

  /// Device tier: pageable host memory (huge pages advised); host tier:
  /// pinned per the request (HostMemory).
  std::unique_ptr<Arena> allocateArena(const ArenaRequest &request) override;
  TierUsage usage(Tier tier) const override;

  std::unique_ptr<Stream> createStream(StreamKind kind, const std::string &name) override;
  std::unique_ptr<Event> createEvent() override;

  void launch(Stream &stream, const BoundKernel &kernel, std::span<void *const> inputs,
              std::span<void *const> outputs, std::span<std::byte> workspace,
              const StepContext &step) override;
  void copy(Stream &stream, void *dst, const void *src, uint64_t bytes) override;
  void hostTask(Stream &stream, FunctionRef<void()> task) override;
  void record(Stream &, Event &) override {}
  void wait(Stream &, Event &) override {}
  void synchronize(Stream &) override {}
  void upload(void *dst, const void *hostSrc, uint64_t bytes) override;
  void download(void *hostDst, const void *src, uint64_t bytes) override;

private:
  friend class HostArena;
  TierAccount &accountOf() { return account_; }

  std::string name_;
  const KernelTable *kernels_;
  TierAccount account_;
  bool deviceHostAccessible_ = true; // OFF_TEST_DEVICE_NOT_HOST_ADDRESSABLE=1: false
};

} // namespace off::backend
