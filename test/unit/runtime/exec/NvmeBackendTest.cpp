// The executor's NVMe tier on the io_uring engine (EngineNvmeBackend): a
// program's nvme-write / nvme-read run on io_uring with O_DIRECT on a real
// filesystem (the engine's totals say so), on the forced thread pool, and
// through the page cache where the filesystem refuses O_DIRECT (ramfs, as
// root); the bytes land in the stripe files where the layout says (read back
// without the engine); failures name the file; files are removed at the end.
#include "ExecTestUtil.h"

#include "runtime/common/HumanSize.h"
#include "test/unit/runtime/io/IoTestSupport.h"

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace off::exec::testing {
namespace {

using io::test::ScopedMount;
using io::test::TempDir;

constexpr uint64_t kStripe = 64 << 10;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// Host arena: A = [hostA, +n) written, then copied to NVMe at `diskOffset`,
// read back into B = [hostB, +n); the two NVMe streams meet at event 0.
struct RoundTrip {
  Slice hostA, hostB, onDisk;
  Program program;
};

RoundTrip roundTrip(uint64_t n, uint64_t hostBOffset, uint64_t diskOffset,
                    uint64_t hostAOffset = 0) {
  RoundTrip t;
  t.hostA = {0, hostAOffset, n};
  t.hostB = {0, hostBOffset, n};
  t.onDisk = {1, diskOffset, n};
  t.program.arenas = {{"host", Tier::Host, hostBOffset + n, 0, true},
                      {"disk", Tier::Nvme, diskOffset + n + 4096, 0, true}};
  t.program.eventCount = 1;
  t.program.residentAtStart = {t.hostA};
  t.program.streams.push_back(stream(
      "nvme-write", StreamKind::NvmeWrite,
      {NvmeWriteInstr{t.onDisk, t.hostA}, RecordInstr{0}}));
  t.program.streams.push_back(stream(
      "nvme-read", StreamKind::NvmeRead,
      {WaitInstr{0}, NvmeReadInstr{t.hostB, t.onDisk}}));
  return t;
}

NvmeStorageOptions storage(std::vector<std::string> directories,
                           bool forceThreadPool = false) {
  NvmeStorageOptions options;
  options.directories = std::move(directories);
  options.stripeSize = kStripe;
  options.engine.queueDepth = 8;
  options.engine.blockSize = 32 << 10; // several chunks per stripe unit
  options.engine.forceThreadPool = forceThreadPool;
  return options;
}

ExecutorOptions with(NvmeBackend &nvme) {
  ExecutorOptions options;
  options.nvme = &nvme;
  options.checkResidency = true;
  options.hostMemory.pinned = false; // no mlock limits in a test
  return options;
}

/// Byte `logical` of a space striped over `paths` (file f holds units
/// f, f+F, ...), read with pread: the reference the engine is checked against.
std::vector<std::byte> readStriped(const std::vector<std::string> &paths,
                                   uint64_t offset, uint64_t n) {
  std::vector<std::byte> bytes(n);
  const uint64_t files = paths.size();
  for (uint64_t i = 0; i < n;) {
    const uint64_t pos = offset + i, unit = pos / kStripe;
    const uint64_t piece = std::min(kStripe - pos % kStripe, n - i);
    int fd = open(paths[unit % files].c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << paths[unit % files];
    EXPECT_EQ(pread(fd, bytes.data() + i, piece,
                    off_t((unit / files) * kStripe + pos % kStripe)),
              ssize_t(piece));
    close(fd);
    i += piece;
  }
  return bytes;
}

std::vector<std::byte> randomFill(Executor &executor, const Slice &slice,
                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> bytes = io::test::randomBytes(slice.size, rng);
  std::memcpy(executor.pointer(slice), bytes.data(), bytes.size());
  return bytes;
}

std::vector<std::byte> contents(const Executor &executor, const Slice &slice) {
  const std::byte *p = executor.pointer(slice);
  return {p, p + slice.size};
}

size_t filesIn(const std::string &dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto &entry :
       std::filesystem::recursive_directory_iterator(dir))
    ++n;
  return n;
}

// 1.25 MiB at an unaligned NVMe offset over two directories: stripe units
// alternate between the drives, the unaligned head and tail go through the
// bounce buffers, the body straight from the host arena; all of it on
// io_uring with O_DIRECT.
TEST(EngineNvmeBackend, ProgramCopiesRunOnIoUringWithODirect) {
  TempDir a, b; // /tmp: ext4 here, where O_DIRECT works
  const uint64_t n = (5 << 18) + 12, diskOffset = 3 * kStripe + 100;
  RoundTrip t = roundTrip(n, 2 << 20, diskOffset, /*hostAOffset=*/100);
  EngineNvmeBackend nvme(storage({a.path(), b.path()}));
  Executor executor(testBackend(), std::move(t.program), with(nvme));
  const std::vector<std::byte> data = randomFill(executor, t.hostA, 1);
  executor.run();

  EXPECT_EQ(contents(executor, t.hostB), data);
  const io::StripedSpace &space = nvme.space(1);
  ASSERT_EQ(space.paths().size(), 2u);
  EXPECT_EQ(readStriped(space.paths(), diskOffset, n), data);
  for (io::FileId file : space.files()) {
    EXPECT_EQ(nvme.engine().modeOf(file), io::EngineMode::IoUring);
    EXPECT_TRUE(nvme.engine().isDirect(file));
  }
  const io::EngineStats stats = nvme.stats();
  EXPECT_EQ(stats.ioUring.writeBytes, n);
  EXPECT_EQ(stats.ioUring.readBytes, n);
  EXPECT_EQ(stats.threadPoolDirect.chunks + stats.threadPoolBuffered.chunks, 0u);
  EXPECT_TRUE(contains(nvme.describe(), "io_uring")) << nvme.describe();
  EXPECT_TRUE(contains(nvme.describe(), "O_DIRECT")) << nvme.describe();
}

TEST(EngineNvmeBackend, ForcedThreadPoolServesTheSameProgram) {
  TempDir dir;
  const uint64_t n = 200000;
  RoundTrip t = roundTrip(n, 1 << 20, 12345);
  EngineNvmeBackend nvme(storage({dir.path()}, /*forceThreadPool=*/true));
  Executor executor(testBackend(), std::move(t.program), with(nvme));
  const std::vector<std::byte> data = randomFill(executor, t.hostA, 2);
  executor.run();
  EXPECT_EQ(contents(executor, t.hostB), data);
  EXPECT_EQ(readStriped(nvme.space(1).paths(), 12345, n), data);
  const io::EngineStats stats = nvme.stats();
  EXPECT_EQ(stats.threadPoolDirect.writeBytes, n);
  EXPECT_EQ(stats.threadPoolDirect.readBytes, n);
  EXPECT_EQ(stats.ioUring.chunks + stats.threadPoolBuffered.chunks, 0u);
  EXPECT_TRUE(contains(nvme.describe(), "thread pool")) << nvme.describe();
}

TEST(EngineNvmeBackend, FilesystemWithoutODirectGoesThroughThePageCache) {
  ScopedMount ramfs("ramfs", ""); // ramfs never has O_DIRECT
  if (!ramfs.ok())
    GTEST_SKIP() << "needs root to mount a ramfs (a filesystem without "
                    "O_DIRECT)";
  const uint64_t n = 100003;
  RoundTrip t = roundTrip(n, 1 << 20, 777);
  ::testing::internal::CaptureStderr();
  {
    EngineNvmeBackend nvme(storage({ramfs.path()}));
    Executor executor(testBackend(), std::move(t.program), with(nvme));
    const std::vector<std::byte> data = randomFill(executor, t.hostA, 3);
    executor.run();
    EXPECT_EQ(contents(executor, t.hostB), data);
    EXPECT_EQ(readStriped(nvme.space(1).paths(), 777, n), data);
    const io::EngineStats stats = nvme.stats();
    EXPECT_EQ(stats.threadPoolBuffered.writeBytes, n);
    EXPECT_EQ(stats.threadPoolBuffered.readBytes, n);
    EXPECT_EQ(stats.ioUring.chunks + stats.threadPoolDirect.chunks, 0u);
    EXPECT_FALSE(nvme.engine().isDirect(nvme.space(1).files()[0]));
    EXPECT_TRUE(contains(nvme.describe(), "page cache")) << nvme.describe();
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(log, "does not support O_DIRECT")) << log;
}

TEST(EngineNvmeBackend, ShortFileFailsTheReadNamingTheFile) {
  TempDir dir;
  RoundTrip t = roundTrip(16, 32, 1000);
  t.program.streams[0].instructions = {RecordInstr{0}}; // read only
  t.program.residentAtStart.push_back(t.onDisk);
  EngineNvmeBackend nvme(storage({dir.path()}));
  Executor executor(testBackend(), std::move(t.program), with(nvme));
  const std::string path = nvme.space(1).paths()[0];
  ASSERT_EQ(truncate(path.c_str(), 1008), 0); // the file shrank
  const std::string error = runError(executor);
  EXPECT_TRUE(contains(error, "stream 'nvme-read' instruction #1 (nvme-read "
                              "arena 'disk'[1000, +16) -> arena 'host'[32, "
                              "+16)) failed: nvme read of " +
                                  path))
      << error;
  EXPECT_TRUE(contains(error, "past the end of the file (it has 1008 bytes)"))
      << error;
  EXPECT_TRUE(contains(error, "nvme space 'disk'")) << error;
}

TEST(EngineNvmeBackend, FilesLiveInAFreshDirectoryRemovedAtTheEnd) {
  TempDir dir;
  {
    RoundTrip t = roundTrip(4096, 4096, 0);
    EngineNvmeBackend nvme(storage({dir.path()}));
    Executor executor(testBackend(), std::move(t.program), with(nvme));
    // Another backend on the same directory gets files of its own.
    RoundTrip u = roundTrip(4096, 4096, 0);
    EngineNvmeBackend other(storage({dir.path()}));
    Executor second(testBackend(), std::move(u.program), with(other));
    EXPECT_NE(nvme.space(1).paths()[0], other.space(1).paths()[0]);
    EXPECT_EQ(std::filesystem::path(nvme.space(1).paths()[0]).parent_path()
                  .parent_path(),
              dir.path());
    // Preallocated to the arena's size (rounded up to the 4 KiB block, not
    // to the stripe unit).
    EXPECT_EQ(std::filesystem::file_size(nvme.space(1).paths()[0]), 8192u);
    EXPECT_LT(8192u, kStripe);
    EXPECT_EQ(filesIn(dir.path()), 4u); // two directories, a file in each
    executor.run();
    second.run();
  }
  EXPECT_EQ(filesIn(dir.path()), 0u);
}

TEST(EngineNvmeBackend, MissingDirectoryIsNamed) {
  TempDir dir;
  RoundTrip t = roundTrip(16, 32, 0);
  EngineNvmeBackend nvme(storage({dir / "absent"}));
  try {
    Executor executor(testBackend(), std::move(t.program), with(nvme));
    FAIL() << "expected the executor to refuse";
  } catch (const std::runtime_error &e) {
    EXPECT_EQ(std::string(e.what()), "nvme: cannot make a directory in " +
                                         (dir / "absent") +
                                         ": it does not exist");
  }
  EXPECT_THROW(EngineNvmeBackend(NvmeStorageOptions{}), std::invalid_argument);
}

TEST(EngineNvmeBackend, FullDeviceIsReportedBeforeAnythingRuns) {
  ScopedMount tiny("tmpfs", "size=1m");
  if (!tiny.ok())
    GTEST_SKIP() << "needs root to mount a 1 MiB tmpfs (ENOSPC case)";
  RoundTrip t = roundTrip(16, 32, 4 << 20); // a 4 MiB arena
  EngineNvmeBackend nvme(storage({tiny.path()}));
  try {
    Executor executor(testBackend(), std::move(t.program), with(nvme));
    FAIL() << "expected the executor to refuse";
  } catch (const io::IoError &e) {
    EXPECT_EQ(e.errnum(), ENOSPC) << e.what();
    EXPECT_TRUE(contains(e.what(), tiny.path() + "/offrt-nvme-")) << e.what();
  }
  EXPECT_EQ(filesIn(tiny.path()), 0u); // nothing left behind
}

TEST(EngineNvmeBackend, NvmeArenaWithoutBackendIsRefused) {
  EXPECT_THROW(Executor(testBackend(), roundTrip(16, 32, 0).program), std::invalid_argument);
}

} // namespace
} // namespace off::exec::testing
