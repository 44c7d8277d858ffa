// The hook through which the executor's nvme-read / nvme-write instructions
// reach storage, and its two implementations: EngineNvmeBackend, files on
// the io_uring engine of runtime/io (what offrt uses), and
// MemoryNvmeBackend, host vectors (tests).
#pragma once

#include "runtime/exec/Program.h"
#include "runtime/io/IoEngine.h"
#include "runtime/io/StripedSpace.h"

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

/// Where the NVMe tier keeps its files, and how the engine moves them.
struct NvmeStorageOptions {
  /// One directory per drive; every NVMe arena is striped over all of them.
  std::vector<std::string> directories;
  /// Bytes per stripe unit (a multiple of the engine's alignment, 4096).
  uint64_t stripeSize = 1 << 20;
  /// Queue depth, block size, forced thread pool, ... (runtime/io).
  io::EngineOptions engine;
};

/// The NVMe tier on the io_uring engine (runtime/io): each NVMe arena is one
/// io::StripedSpace over `directories`, in a fresh directory
/// "offrt-nvme-XXXXXX" made inside each of them (two runs never share
/// files). The files are preallocated by prepare() (a full disk is reported
/// there, naming the file) and removed, with those directories, by the
/// destructor. The engine falls back to its pread/pwrite pool where io_uring
/// or O_DIRECT is refused; stats() says what served the transfers.
class EngineNvmeBackend final : public NvmeBackend {
public:
  explicit EngineNvmeBackend(NvmeStorageOptions options);
  /// Waits for transfers still in flight, then removes the files.
  ~EngineNvmeBackend() override;
  void prepare(std::span<const ArenaSpec> arenas) override;
  Ticket submit(const NvmeRequest &request) override;
  void wait(Ticket ticket) override { engine_.wait(ticket); }

  const io::IoEngine &engine() const { return engine_; }
  io::EngineStats stats() const { return engine_.stats(); }
  /// The stripe files of NVMe arena `arena`; throws for other arenas.
  const io::StripedSpace &space(ArenaId arena) const;
  /// One line for logs, e.g. "nvme: 2 arenas (1.5G) striped over /mnt/a,
  /// /mnt/b; io_uring (queue depth 32, block 1.0M, fixed buffers), O_DIRECT".
  std::string describe() const;

private:
  void removeAll();

  NvmeStorageOptions options_;
  io::IoEngine engine_;
  std::vector<std::string> runDirectories_; // made by prepare, one per directory
  std::vector<std::unique_ptr<io::StripedSpace>> spaces_; // per arena; null: not NVMe
};

} // namespace off::exec
