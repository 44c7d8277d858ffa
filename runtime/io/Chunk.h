// Inside the engine: a request is cut into chunks, each at most one block of
// one file; a backend (io_uring or thread pool) runs a chunk as a sequence of
// read/write system calls whose results drive the state machine below. The
// planning and the state machine are plain functions so that they can be
// tested without a disk.
#pragma once

#include "runtime/io/IoEngine.h"

#include <optional>
#include <vector>

namespace off::io::detail {

class Backend;

struct FileEntry {
  FileId id = 0;
  std::string path;
  int fd = -1;
  bool direct = false; // opened with O_DIRECT: offsets/lengths/addresses aligned
  Backend *backend = nullptr;
};

struct Request;

enum class ChunkKind : uint8_t {
  Direct, // the syscall moves bytes straight between file and host memory
  Bounce, // whole aligned blocks, but the host address is misaligned: copy
  Edge,   // one alignment block of which the request wants only part
};

/// Dimension legend: [range) is the aligned file range the system calls
/// touch; [partBegin, partEnd) the bytes of it the request wants, relative
/// to fileOffset; host points at the byte for partBegin.
struct Chunk {
  Request *request = nullptr;
  FileEntry *file = nullptr;
  ChunkKind kind = ChunkKind::Direct;
  IoOp op = IoOp::Read; // what the request does
  uint64_t fileOffset = 0;
  uint64_t length = 0;
  uint64_t partBegin = 0;
  uint64_t partEnd = 0;
  std::byte *host = nullptr;

  // Set when the chunk starts.
  std::byte *buffer = nullptr; // host (Direct) or a bounce buffer
  int fixedIndex = -1;         // io_uring fixed-buffer slot, or -1
  IoOp phase = IoOp::Read;     // the system call being issued
  uint64_t done = 0;           // bytes of this phase already transferred
  bool holdsBlock = false;     // owns the lock of its block (edge writes)

  uint64_t opOffset() const { return fileOffset + done; }
  uint64_t opLength() const { return length - done; }
  std::byte *opBuffer() const { return buffer + done; }
  /// Edge writes are read-modify-write: two of them on one block must not
  /// overlap in time.
  bool needsBlockLock() const {
    return kind == ChunkKind::Edge && op == IoOp::Write;
  }
};

struct Request {
  Ticket ticket = 0; // 0 for requests that report through a callback
  IoOp op = IoOp::Read;
  std::string context;
  std::vector<Chunk> chunks;
  size_t unfinished = 0; // chunks not yet finished or skipped
  std::optional<IoError> error;
  Completion callback;
  bool done = false;
};

/// Size of each bounce buffer, and so the largest Bounce chunk: smaller than
/// a block so that the pool (one buffer per transfer in flight) stays small
/// even for large blocks and queue depths.
uint64_t bounceSize(const EngineOptions &options);

/// Appends the chunks of one extent to request.chunks: Direct chunks of at
/// most blockSize bytes, Bounce chunks of at most bounceSize. A file opened
/// without O_DIRECT needs no alignment: every chunk is Direct.
void planChunks(Request &request, IoOp op, const Extent &extent,
                FileEntry &file, uint64_t alignment, uint64_t blockSize,
                uint64_t bounceSize);

/// Prepares a chunk whose buffer is set: the first phase, and for writes
/// through a bounce buffer the copy of the caller's bytes into it.
void beginChunk(Chunk &chunk);

enum class Step : uint8_t { Issue, Finished, Failed };

/// Feeds the result of the system call just issued for `chunk` (bytes moved,
/// or -errno) and says what comes next: Issue (the remainder, the next phase
/// or a retry: issue opOffset/opLength/opBuffer), Finished, or Failed with
/// `error` set. Short transfers are resumed; a read that ends before the
/// bytes the request wants is an end-of-file error.
Step advanceChunk(Chunk &chunk, int64_t result, uint64_t alignment,
                  std::optional<IoError> &error);

} // namespace off::io::detail
