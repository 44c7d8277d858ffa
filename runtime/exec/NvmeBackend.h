// The hook through which the executor's nvme-read / nvme-write instructions
// reach storage. The real engine (io_uring + O_DIRECT, runtime/io) implements
// NvmeBackend; this library ships two simple ones: in memory (tests) and
// files with pread/pwrite (no alignment needs, no io_uring).
#pragma once

#include "runtime/exec/Program.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace off::exec {

struct NvmeRequest {
  enum class Op : uint8_t { Read, Write };
  Op op = Op::Read;
  ArenaId arena = 0;    // an NVMe-tier arena of the program
  uint64_t offset = 0;  // byte offset in that arena
  std::byte *host = nullptr; // host-tier memory (pinned in practice)
  uint64_t size = 0;
};

/// Thread-safe: the nvme-read and nvme-write streams call it concurrently.
class NvmeBackend {
public:
  using Ticket = uint64_t;
  virtual ~NvmeBackend() = default;
  /// Called once before any request with the program's arenas: the backend
  /// makes room for every NVMe-tier one (files, stripes, ...).
  virtual void prepare(std::span<const ArenaSpec> arenas) = 0;
  /// Starts a transfer; may complete it before returning.
  virtual Ticket submit(const NvmeRequest &request) = 0;
  /// Blocks until the transfer is done. Throws std::runtime_error naming the
  /// file and offset when it failed (short read, EIO, ENOSPC, ...).
  virtual void wait(Ticket ticket) = 0;
};

/// Completed tickets with their error, for backends that finish in submit.
class SynchronousTickets {
public:
  NvmeBackend::Ticket complete(std::string error);
  void wait(NvmeBackend::Ticket ticket);

private:
  std::mutex mutex_;
  NvmeBackend::Ticket next_ = 1;
  std::unordered_map<NvmeBackend::Ticket, std::string> errors_;
};

/// NVMe arenas as host vectors: for tests, and as a stand-in on machines
/// without a spare drive.
class MemoryNvmeBackend final : public NvmeBackend {
public:
  void prepare(std::span<const ArenaSpec> arenas) override;
  Ticket submit(const NvmeRequest &request) override;
  void wait(Ticket ticket) override { tickets_.wait(ticket); }
  /// The bytes of NVMe arena `arena` (empty for other tiers).
  std::span<std::byte> contents(ArenaId arena);

private:
  std::vector<std::vector<std::byte>> arenas_;
  SynchronousTickets tickets_;
};

/// One file per NVMe arena, "<directory>/<arena name>.nvme", sized to the
/// arena; plain pread/pwrite, so any filesystem and alignment works.
class FileNvmeBackend final : public NvmeBackend {
public:
  explicit FileNvmeBackend(std::string directory);
  ~FileNvmeBackend() override;
  void prepare(std::span<const ArenaSpec> arenas) override;
  Ticket submit(const NvmeRequest &request) override;
  void wait(Ticket ticket) override { tickets_.wait(ticket); }
  const std::string &path(ArenaId arena) const { return paths_.at(arena); }

private:
  std::string directory_;
  std::vector<int> fds_;
  std::vector<std::string> paths_;
  SynchronousTickets tickets_;
};

} // namespace off::exec
