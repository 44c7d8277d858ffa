// The chunk planner and the per-chunk state machine, without a disk: every
// request byte is covered exactly once, chunks respect the O_DIRECT
// alignment, short transfers are resumed and errors name file and offset.
#include "runtime/io/Chunk.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <unistd.h>

namespace off::io::detail {
namespace {

constexpr uint64_t kAlign = 4096;

FileEntry directFile() {
  FileEntry file;
  file.path = "/nvme/a.bin";
  file.direct = true;
  return file;
}

// Walks the plan and checks it against the request, byte by byte.
void checkPlan(const Request &request, const Extent &extent,
               const FileEntry &file, uint64_t block, uint64_t bounce) {
  uint64_t covered = extent.fileOffset;
  for (const Chunk &c : request.chunks) {
    SCOPED_TRACE("chunk at " + std::to_string(c.fileOffset));
    EXPECT_LE(c.length, c.kind == ChunkKind::Bounce ? bounce : block);
    EXPECT_LT(c.partBegin, c.partEnd);
    EXPECT_LE(c.partEnd, c.length);
    // Parts are contiguous and in order.
    EXPECT_EQ(c.fileOffset + c.partBegin, covered);
    EXPECT_EQ(c.host, extent.host + (covered - extent.fileOffset));
    covered = c.fileOffset + c.partEnd;
    if (file.direct) {
      EXPECT_EQ(c.fileOffset % kAlign, 0u);
      EXPECT_EQ(c.length % kAlign, 0u);
    }
    if (c.kind == ChunkKind::Direct) {
      EXPECT_EQ(c.partBegin, 0u);
      EXPECT_EQ(c.partEnd, c.length);
      if (file.direct)
        EXPECT_EQ(reinterpret_cast<uintptr_t>(c.host) % kAlign, 0u);
    }
    if (c.kind == ChunkKind::Edge)
      EXPECT_EQ(c.length, kAlign);
  }
  EXPECT_EQ(covered, extent.fileOffset + extent.length);
}

TEST(ChunkPlan, AlignedRequestIsDirectBlocks) {
  FileEntry file = directFile();
  alignas(4096) static std::byte host[3 * 65536];
  Request request;
  Extent e{0, 8192, host, sizeof(host)};
  planChunks(request, IoOp::Read, e, file, kAlign, 65536, 65536);
  ASSERT_EQ(request.chunks.size(), 3u);
  for (const Chunk &c : request.chunks)
    EXPECT_EQ(c.kind, ChunkKind::Direct);
  checkPlan(request, e, file, 65536, 65536);
}

TEST(ChunkPlan, UnalignedHeadAndTailBecomeEdges) {
  FileEntry file = directFile();
  alignas(4096) static std::byte host[20000];
  Request request;
  // Host congruent with the file offset: the body is direct.
  Extent e{0, 4096 + 100, host + 100, 3 * 4096 + 50};
  planChunks(request, IoOp::Write, e, file, kAlign, 65536, 65536);
  ASSERT_EQ(request.chunks.size(), 3u);
  EXPECT_EQ(request.chunks[0].kind, ChunkKind::Edge);
  EXPECT_EQ(request.chunks[0].partBegin, 100u);
  EXPECT_EQ(request.chunks[1].kind, ChunkKind::Direct);
  EXPECT_EQ(request.chunks[1].length, 2 * 4096u);
  EXPECT_EQ(request.chunks[2].kind, ChunkKind::Edge);
  EXPECT_EQ(request.chunks[2].partEnd, 150u);
  EXPECT_TRUE(request.chunks[2].needsBlockLock());
  checkPlan(request, e, file, 65536, 65536);
}

TEST(ChunkPlan, RequestInsideOneBlockIsOneEdge) {
  FileEntry file = directFile();
  std::byte host[10];
  Request request;
  Extent e{0, 5000, host, 10};
  planChunks(request, IoOp::Read, e, file, kAlign, 65536, 65536);
  ASSERT_EQ(request.chunks.size(), 1u);
  EXPECT_EQ(request.chunks[0].fileOffset, 4096u);
  EXPECT_EQ(request.chunks[0].partBegin, 904u);
  EXPECT_EQ(request.chunks[0].partEnd, 914u);
}

TEST(ChunkPlan, MisalignedHostGoesThroughBounceBuffers) {
  FileEntry file = directFile();
  alignas(4096) static std::byte host[3 * 4096 + 8];
  Request request;
  Extent e{0, 0, host + 8, 3 * 4096};
  // Bounce chunks are capped at the bounce buffer size, not the block.
  planChunks(request, IoOp::Read, e, file, kAlign, 65536, 4096);
  ASSERT_EQ(request.chunks.size(), 3u);
  for (const Chunk &c : request.chunks)
    EXPECT_EQ(c.kind, ChunkKind::Bounce);
  checkPlan(request, e, file, 65536, 4096);
}

TEST(ChunkPlan, BufferedFileNeedsNoAlignment) {
  FileEntry file = directFile();
  file.direct = false;
  std::byte host[300];
  Request request;
  Extent e{0, 7, host + 1, 250};
  planChunks(request, IoOp::Write, e, file, kAlign, 100, 100);
  ASSERT_EQ(request.chunks.size(), 3u);
  for (const Chunk &c : request.chunks)
    EXPECT_EQ(c.kind, ChunkKind::Direct);
  checkPlan(request, e, file, 100, 100);
}

TEST(ChunkPlan, RandomRequestsAreCoveredExactly) {
  std::mt19937_64 rng(7);
  FileEntry file = directFile();
  alignas(4096) static std::byte host[1 << 20];
  for (int i = 0; i < 2000; ++i) {
    const uint64_t block = kAlign << (rng() % 5);
    const uint64_t offset = rng() % (1 << 22);
    const uint64_t hostShift = rng() % 2 ? 0 : rng() % 8192;
    const uint64_t length = 1 + rng() % ((1 << 20) - hostShift - 1);
    Request request;
    Extent e{0, offset, host + hostShift, length};
    const uint64_t bounce = std::max(kAlign, block / 4);
    planChunks(request, IoOp::Read, e, file, kAlign, block, bounce);
    SCOPED_TRACE("offset " + std::to_string(offset) + " length " +
                 std::to_string(length) + " shift " +
                 std::to_string(hostShift));
    checkPlan(request, e, file, block, bounce);
    if (HasFailure())
      return;
  }
}

// A chunk ready to run, over a caller buffer.
struct Fixture {
  FileEntry file = directFile();
  Request request;
  Chunk chunk;
  Fixture(IoOp op, ChunkKind kind, uint64_t length, std::byte *host,
          std::byte *buffer) {
    request.context = "tensor w";
    chunk.request = &request;
    chunk.file = &file;
    chunk.kind = kind;
    chunk.op = op;
    chunk.fileOffset = 65536;
    chunk.length = length;
    chunk.partEnd = length;
    chunk.host = host;
    chunk.buffer = buffer;
    beginChunk(chunk);
  }
  ~Fixture() {
    if (file.fd >= 0)
      close(file.fd);
  }
  // A real (anonymous) file of that size, for the end-of-file checks.
  void setFileSize(off_t size) {
    FILE *f = tmpfile();
    file.fd = dup(fileno(f));
    fclose(f);
    ASSERT_EQ(ftruncate(file.fd, size), 0);
  }
};

TEST(ChunkStep, ShortReadIsResumedForTheRemainder) {
  alignas(4096) static std::byte host[16384];
  Fixture f(IoOp::Read, ChunkKind::Direct, 16384, host, host);
  std::optional<IoError> error;
  EXPECT_EQ(advanceChunk(f.chunk, 4096, kAlign, error), Step::Issue);
  EXPECT_EQ(f.chunk.opOffset(), 65536u + 4096);
  EXPECT_EQ(f.chunk.opLength(), 12288u);
  EXPECT_EQ(f.chunk.opBuffer(), host + 4096);
  EXPECT_EQ(advanceChunk(f.chunk, 12288, kAlign, error), Step::Finished);
  EXPECT_FALSE(error);
}

TEST(ChunkStep, ShortWriteIsResumedAndInterruptsRetried) {
  alignas(4096) static std::byte host[8192];
  Fixture f(IoOp::Write, ChunkKind::Direct, 8192, host, host);
  std::optional<IoError> error;
  EXPECT_EQ(advanceChunk(f.chunk, -EINTR, kAlign, error), Step::Issue);
  EXPECT_EQ(f.chunk.opOffset(), 65536u);
  EXPECT_EQ(advanceChunk(f.chunk, 4096, kAlign, error), Step::Issue);
  EXPECT_EQ(f.chunk.opOffset(), 65536u + 4096);
  EXPECT_EQ(advanceChunk(f.chunk, 4096, kAlign, error), Step::Finished);
}

TEST(ChunkStep, DeviceErrorNamesFileOffsetAndErrno) {
  alignas(4096) static std::byte host[8192];
  Fixture f(IoOp::Write, ChunkKind::Direct, 8192, host, host);
  std::optional<IoError> error;
  ASSERT_EQ(advanceChunk(f.chunk, 4096, kAlign, error), Step::Issue);
  ASSERT_EQ(advanceChunk(f.chunk, -ENOSPC, kAlign, error), Step::Failed);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->path(), "/nvme/a.bin");
  EXPECT_EQ(error->offset(), 65536u + 4096);
  EXPECT_EQ(error->errnum(), ENOSPC);
  const std::string what = error->what();
  EXPECT_NE(what.find("write of /nvme/a.bin at offset 69632"), std::string::npos)
      << what;
  EXPECT_NE(what.find("ENOSPC"), std::string::npos) << what;
  EXPECT_NE(what.find("tensor w"), std::string::npos) << what;
}

TEST(ChunkStep, ZeroByteWriteIsAnErrorNotALoop) {
  alignas(4096) static std::byte host[4096];
  Fixture f(IoOp::Write, ChunkKind::Direct, 4096, host, host);
  std::optional<IoError> error;
  EXPECT_EQ(advanceChunk(f.chunk, 0, kAlign, error), Step::Failed);
  ASSERT_TRUE(error);
}

TEST(ChunkStep, EdgeReadAtEndOfFileGetsTheBytesItNeeds) {
  alignas(4096) static std::byte bounce[4096];
  std::byte host[50];
  Fixture f(IoOp::Read, ChunkKind::Edge, 4096, host, bounce);
  f.chunk.partBegin = 10;
  f.chunk.partEnd = 60;
  for (int i = 0; i < 100; ++i)
    bounce[i] = std::byte(i);
  f.setFileSize(65536 + 100);
  std::optional<IoError> error;
  // The file ends 100 bytes into the block: enough for bytes [10, 60).
  EXPECT_EQ(advanceChunk(f.chunk, 100, kAlign, error), Step::Finished);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(host[i], std::byte(i + 10));
}

TEST(ChunkStep, ReadPastEndOfFileFailsWithoutFinishing) {
  alignas(4096) static std::byte host[8192];
  Fixture f(IoOp::Read, ChunkKind::Direct, 8192, host, host);
  f.setFileSize(65536 + 4096);
  std::optional<IoError> error;
  EXPECT_EQ(advanceChunk(f.chunk, 4096, kAlign, error), Step::Issue);
  EXPECT_EQ(advanceChunk(f.chunk, 0, kAlign, error), Step::Failed);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset(), 65536u + 4096);
  EXPECT_NE(std::string(error->what()).find("past the end of the file (it has "
                                            "69632 bytes)"),
            std::string::npos)
      << error->what();
}

TEST(ChunkStep, EdgeWriteReadsModifiesAndWritesTheBlock) {
  alignas(4096) static std::byte bounce[4096];
  std::byte host[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  Fixture f(IoOp::Write, ChunkKind::Edge, 4096, host, bounce);
  f.chunk.partBegin = 4093;
  f.chunk.partEnd = 4096;
  f.setFileSize(65536 + 1000);
  EXPECT_EQ(f.chunk.phase, IoOp::Read);
  std::memset(bounce, 0x55, 4096);
  std::optional<IoError> error;
  // The old block is only 1000 bytes long (end of file): the rest is zeros.
  EXPECT_EQ(advanceChunk(f.chunk, 1000, kAlign, error), Step::Issue);
  EXPECT_EQ(f.chunk.phase, IoOp::Write);
  EXPECT_EQ(f.chunk.opOffset(), 65536u);
  EXPECT_EQ(bounce[999], std::byte{0x55});
  EXPECT_EQ(bounce[1000], std::byte{0});
  EXPECT_EQ(bounce[4093], std::byte{1});
  EXPECT_EQ(bounce[4095], std::byte{3});
  EXPECT_EQ(advanceChunk(f.chunk, 4096, kAlign, error), Step::Finished);
}

} // namespace
} // namespace off::io::detail
