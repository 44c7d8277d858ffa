// The NVMe engine: reads and writes byte ranges of files with io_uring and
// O_DIRECT, many transfers in flight, and tells the caller when each request
// is done (a ticket to wait on, or a callback).
//
//   IoEngine engine({.queueDepth = 32});
//   FileId f = engine.open("/nvme/a.bin", {.create = true, .preallocate = n});
//   Ticket t = engine.write(f, 0, host, n);   // returns at once
//   ...                                       // other work
//   engine.wait(t);                           // throws IoError on failure
//
// Alignment contract: any host address, file offset and length is accepted.
// Transfers whose file offset, length and host address are multiples of
// `alignment` go straight between the file and host memory (the fast path);
// the unaligned head and tail of a request go through the engine's aligned
// bounce buffers (a partial block is read, patched and written back), and a
// host address that is misaligned relative to its file offset makes the
// whole request go through bounce buffers (correct, but one extra memcpy).
// Because writes touch whole blocks, writing the end of a file extends it to
// the next multiple of `alignment`; files are meant to be preallocated.
//
// Modes: io_uring is the default. The engine falls back to a pool of threads
// doing pread/pwrite when io_uring_queue_init is refused (seccomp, old kernel,
// io_uring_disabled) or when forced; a file whose filesystem rejects O_DIRECT
// is opened without it and served by the thread pool. Each reason is logged
// once on stderr.
#pragma once

#include "runtime/io/IoError.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace off::io {

enum class EngineMode : uint8_t { IoUring, ThreadPool };
const char *toString(EngineMode mode);

/// What the test hook sees: one read or write system call (or SQE) that
/// just completed.
struct TransferInfo {
  IoOp op;
  const std::string &path;
  uint64_t offset;
  uint64_t length;
};

struct EngineOptions {
  /// Transfers in flight at once (SQEs for io_uring, threads for the pool).
  unsigned queueDepth = 32;
  /// The largest single transfer: requests are cut into blocks of this size
  /// so that one large tensor keeps `queueDepth` transfers in flight.
  uint64_t blockSize = 1 << 20;
  /// O_DIRECT granularity of file offsets, lengths and host addresses.
  uint64_t alignment = 4096;
  /// Use the pread/pwrite thread pool even where io_uring works.
  bool forceThreadPool = false;
  /// Threads of the pool; 0 means min(queueDepth, 16).
  unsigned threadPoolThreads = 0;
  /// io_uring fixed buffers for the bounce pool and registerBuffer() regions.
  bool registerBuffers = true;
  /// Slots in the io_uring fixed-buffer table (the bounce pool takes one).
  unsigned maxRegisteredBuffers = 64;
  /// Test hook: sees the result of every completed transfer (bytes, or
  /// -errno) and returns the result the engine acts on. It lets tests make
  /// the kernel's rare answers happen on demand (short transfers, EIO).
  std::function<int64_t(const TransferInfo &, int64_t result)> resultHook;
};

using FileId = uint32_t;
using Ticket = uint64_t;

/// Transfers finished without error, counted per chunk (at most one block of
/// one file); bytes are those the requests asked for (an unaligned edge
/// counts its part, not the whole block it rewrites).
struct TransferTotals {
  uint64_t chunks = 0;
  uint64_t readBytes = 0;
  uint64_t writeBytes = 0;
};

/// What the engine moved since it was made, by what served it: tests and
/// logs use it to tell which path a transfer really took.
struct EngineStats {
  TransferTotals ioUring;            // io_uring, files opened with O_DIRECT
  TransferTotals threadPoolDirect;   // pread/pwrite, O_DIRECT (forced, or io_uring refused)
  TransferTotals threadPoolBuffered; // pread/pwrite through the page cache (no O_DIRECT there)
};

struct OpenOptions {
  bool create = false;
  bool readOnly = false;
  /// Makes the file at least this long up front (fallocate, so a full disk
  /// is reported here rather than in the middle of a training step).
  uint64_t preallocate = 0;
};

/// One piece of a request: `length` bytes at `fileOffset` of `file`, to or
/// from `host`. A request may hold several (e.g. the stripes of a tensor).
struct Extent {
  FileId file = 0;
  uint64_t fileOffset = 0;
  std::byte *host = nullptr;
  uint64_t length = 0;
};

/// Called once per request, on an engine thread, after every byte of the
/// request has been transferred (error == nullptr) or the request failed
/// (no transfer of it is still in flight). Must not wait on the engine.
using Completion = std::function<void(const IoError *error)>;

class IoEngine {
public:
  explicit IoEngine(EngineOptions options = {});
  /// Waits for every transfer in flight (they write into caller memory).
  ~IoEngine();
  IoEngine(const IoEngine &) = delete;
  IoEngine &operator=(const IoEngine &) = delete;

  /// How O_DIRECT files are served.
  EngineMode mode() const;
  /// E.g. "io_uring (O_DIRECT, queue depth 32, block 1.0M, fixed buffers)".
  std::string describe() const;
  const EngineOptions &options() const;

  /// Opens (or creates) a file; throws IoError naming it when that fails.
  FileId open(const std::string &path, const OpenOptions &options = {});
  const std::string &path(FileId file) const;
  /// Whether the file was opened with O_DIRECT (false: its filesystem
  /// refused it, and the thread pool serves it through the page cache).
  bool isDirect(FileId file) const;
  /// Which backend serves this file.
  EngineMode modeOf(FileId file) const;
  /// Totals of the transfers finished so far.
  EngineStats stats() const;

  /// Starts a request; returns at once. Every ticket must be waited once.
  Ticket submit(IoOp op, std::span<const Extent> extents,
                std::string context = {});
  Ticket read(FileId file, uint64_t offset, void *host, uint64_t length);
  Ticket write(FileId file, uint64_t offset, const void *host,
               uint64_t length);
  /// Starts a request that reports through `done` instead of a ticket.
  void submit(IoOp op, std::span<const Extent> extents, Completion done,
              std::string context = {});

  /// True once the request is finished (wait() will not block).
  bool poll(Ticket ticket) const;
  /// Blocks until the request is finished; throws its IoError if it failed.
  void wait(Ticket ticket);

  /// Registers host memory as io_uring fixed buffers (split into pieces of
  /// at most 1 GiB). Transfers that fall inside it skip the kernel's per-I/O
  /// page pinning. Returns false (and changes nothing) when the engine runs
  /// the thread pool, the table is full or the kernel refuses to pin.
  bool registerBuffer(void *host, size_t length);
  void unregisterBuffer(void *host);

private:
  Ticket start(IoOp op, std::span<const Extent> extents, Completion done,
               std::string context);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace off::io
