#include "runtime/io/Chunk.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace off::io::detail {

namespace {

void addChunk(Request &request, IoOp op, const Extent &extent,
              FileEntry &file, ChunkKind kind, uint64_t rangeBegin,
              uint64_t rangeLength, uint64_t partBegin, uint64_t partEnd) {
  Chunk chunk;
  chunk.request = &request;
  chunk.file = &file;
  chunk.kind = kind;
  chunk.op = op;
  chunk.fileOffset = rangeBegin;
  chunk.length = rangeLength;
  chunk.partBegin = partBegin;
  chunk.partEnd = partEnd;
  chunk.host = extent.host + (rangeBegin + partBegin - extent.fileOffset);
  request.chunks.push_back(chunk);
}

int64_t fileSizeOf(int fd) {
  struct stat st{};
  return fstat(fd, &st) == 0 ? st.st_size : -1;
}

} // namespace

uint64_t bounceSize(const EngineOptions &options) {
  return std::min(options.blockSize,
                  std::max<uint64_t>(256 << 10, options.alignment));
}

void planChunks(Request &request, IoOp op, const Extent &extent,
                FileEntry &file, uint64_t alignment, uint64_t blockSize,
                uint64_t bounceSize) {
  const uint64_t align = file.direct ? alignment : 1;
  const uint64_t end = extent.fileOffset + extent.length;
  uint64_t pos = extent.fileOffset;
  if (pos == end)
    return;
  // Head: the request starts inside a block.
  if (pos % align != 0) {
    const uint64_t block = pos - pos % align;
    const uint64_t partEnd = std::min(end, block + align) - block;
    addChunk(request, op, extent, file, ChunkKind::Edge, block, align,
             pos - block, partEnd);
    pos = block + partEnd;
  }
  // Body: whole alignment blocks.
  const uint64_t bodyEnd = end - end % align;
  while (pos < bodyEnd) {
    const auto hostAddress = reinterpret_cast<uintptr_t>(
        extent.host + (pos - extent.fileOffset));
    const ChunkKind kind =
        hostAddress % align == 0 ? ChunkKind::Direct : ChunkKind::Bounce;
    const uint64_t length = std::min(
        kind == ChunkKind::Direct ? blockSize : bounceSize, bodyEnd - pos);
    addChunk(request, op, extent, file, kind, pos, length, 0, length);
    pos += length;
  }
  // Tail: the request ends inside a block.
  if (pos < end)
    addChunk(request, op, extent, file, ChunkKind::Edge, pos, align, 0,
             end - pos);
}

void beginChunk(Chunk &chunk) {
  chunk.done = 0;
  if (chunk.op == IoOp::Read || chunk.kind == ChunkKind::Edge) {
    // Reads, and the read half of an edge write's read-modify-write.
    chunk.phase = IoOp::Read;
    return;
  }
  chunk.phase = IoOp::Write;
  if (chunk.kind == ChunkKind::Bounce)
    std::memcpy(chunk.buffer, chunk.host, chunk.length);
}

namespace {

Step readPhaseDone(Chunk &chunk) {
  const uint64_t partLength = chunk.partEnd - chunk.partBegin;
  if (chunk.op == IoOp::Read) {
    if (chunk.kind != ChunkKind::Direct)
      std::memcpy(chunk.host, chunk.buffer + chunk.partBegin, partLength);
    return Step::Finished;
  }
  // Edge write: patch the caller's bytes into the block, write it back.
  std::memcpy(chunk.buffer + chunk.partBegin, chunk.host, partLength);
  chunk.phase = IoOp::Write;
  chunk.done = 0;
  return Step::Issue;
}

} // namespace

Step advanceChunk(Chunk &chunk, int64_t result, uint64_t alignment,
                  std::optional<IoError> &error) {
  if (result == -EINTR || result == -EAGAIN)
    return Step::Issue; // nothing happened: issue the same transfer again
  const std::string &context = chunk.request->context;
  if (result < 0) {
    error = makeTransferError(chunk.phase, chunk.file->path, chunk.opOffset(),
                              chunk.opLength(), static_cast<int>(-result),
                              context);
    return Step::Failed;
  }
  const uint64_t moved =
      std::min(static_cast<uint64_t>(result), chunk.opLength());

  if (chunk.phase == IoOp::Write) {
    if (moved == 0) {
      error = makeTransferError(IoOp::Write, chunk.file->path,
                                chunk.opOffset(), chunk.opLength(), 0, context,
                                "the kernel wrote 0 bytes (device full?)");
      return Step::Failed;
    }
    chunk.done += moved;
    return chunk.done == chunk.length ? Step::Finished : Step::Issue;
  }

  chunk.done += moved;
  if (chunk.done == chunk.length)
    return readPhaseDone(chunk);
  // A short read: the end of the file, or (rarely) the kernel stopping early.
  bool atEnd = moved == 0;
  if (!atEnd && chunk.file->direct && chunk.opOffset() % alignment != 0) {
    // O_DIRECT stops mid-block only at the end of the file; if the file is
    // longer after all, resume from the block boundary (rereading a little).
    const int64_t size = fileSizeOf(chunk.file->fd);
    if (size < 0 || static_cast<uint64_t>(size) <= chunk.opOffset())
      atEnd = true;
    else
      chunk.done -= chunk.opOffset() % alignment;
  }
  if (!atEnd)
    return Step::Issue;
  // The end of the file. An edge write needs none of the block's old bytes
  // (missing ones are zeros); a read needs everything up to partEnd.
  const uint64_t needed = chunk.op == IoOp::Read ? chunk.partEnd : 0;
  if (chunk.done >= needed) {
    std::memset(chunk.buffer + chunk.done, 0, chunk.length - chunk.done);
    chunk.done = chunk.length;
    return readPhaseDone(chunk);
  }
  const int64_t size = fileSizeOf(chunk.file->fd);
  error = makeTransferError(
      IoOp::Read, chunk.file->path, chunk.opOffset(),
      chunk.fileOffset + needed - chunk.opOffset(), 0, context,
      "read past the end of the file (it has " + std::to_string(size) +
          " bytes)");
  return Step::Failed;
}

} // namespace off::io::detail
