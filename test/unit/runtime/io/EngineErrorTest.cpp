// Failures: each one is an IoError naming the file and offset, a failed
// request is never reported as complete, and the engine stays usable. Also
// the two fallbacks: a filesystem without O_DIRECT, and io_uring refused.
#include "IoTestSupport.h"
#include "runtime/io/AlignedBuffer.h"

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>

namespace off::io::test {
namespace {

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

class EngineErrorTest : public testing::TestWithParam<bool> {
protected:
  EngineOptions options() const { return optionsFor(GetParam()); }
  TempDir dir;
};

TEST_P(EngineErrorTest, ReadPastTheEndOfAShortFile) {
  std::vector<std::byte> data(10000);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::byte>(i % 251);
  {
    std::ofstream out(dir / "short.bin", std::ios::binary);
    out.write(reinterpret_cast<const char *>(data.data()), data.size());
  }
  IoEngine engine(options());
  FileId f = engine.open(dir / "short.bin");
  // Up to the last byte is fine, although the file ends inside a block.
  std::vector<std::byte> back(10000);
  engine.wait(engine.read(f, 0, back.data(), back.size()));
  EXPECT_EQ(back, data);
  // One byte more is not.
  std::vector<std::byte> more(10001);
  try {
    engine.wait(engine.read(f, 0, more.data(), more.size()));
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_EQ(e.path(), dir / "short.bin");
    EXPECT_EQ(e.errnum(), 0);
    EXPECT_TRUE(contains(e.what(), "past the end of the file (it has 10000 "
                                   "bytes)"))
        << e.what();
    EXPECT_TRUE(contains(e.what(), dir / "short.bin")) << e.what();
  }
  // Entirely past the end.
  EXPECT_THROW(engine.wait(engine.read(f, 20000, more.data(), 100)), IoError);
}

TEST_P(EngineErrorTest, MissingFileAndDirectoryAreNamed) {
  IoEngine engine(options());
  try {
    engine.open(dir / "absent.bin");
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_EQ(e.errnum(), ENOENT);
    EXPECT_TRUE(contains(e.what(), dir / "absent.bin")) << e.what();
    EXPECT_TRUE(contains(e.what(), "ENOENT")) << e.what();
  }
  try {
    engine.open(dir / "no/such/dir/x.bin", {.create = true});
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_TRUE(contains(e.what(), "directory " + (dir / "no/such/dir") +
                                       " does not exist"))
        << e.what();
  }
}

TEST_P(EngineErrorTest, ReadOnlyDirectoryIsNamed) {
  IoEngine engine(options());
  // Root ignores permission bits, so as root use a read-only mount.
  std::unique_ptr<ScopedMount> readOnly;
  std::string where = dir.path();
  if (geteuid() == 0) {
    readOnly = std::make_unique<ScopedMount>("tmpfs", "size=64k", MS_RDONLY);
    ASSERT_TRUE(readOnly->ok()) << "mount -o ro tmpfs failed";
    where = readOnly->path();
  } else {
    ASSERT_EQ(chmod(where.c_str(), 0555), 0);
  }
  try {
    engine.open(where + "/x.bin", {.create = true});
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_TRUE(e.errnum() == EROFS || e.errnum() == EACCES) << e.what();
    EXPECT_TRUE(contains(e.what(), where + "/x.bin")) << e.what();
  }
  chmod(where.c_str(), 0755);
}

// EIO cannot be had from a healthy disk on demand: the hook fails one
// transfer in the middle of a request.
TEST_P(EngineErrorTest, DeviceErrorFailsTheWholeRequest) {
  const uint64_t failAt = 3 * (64 << 10);
  std::atomic<int> calls{0};
  EngineOptions o = options();
  o.resultHook = [&](const TransferInfo &t, int64_t result) -> int64_t {
    ++calls;
    return t.offset == failAt && t.op == IoOp::Write ? -EIO : result;
  };
  IoEngine engine(o);
  const size_t n = 1 << 20;
  FileId f = engine.open(dir / "eio.bin", {.create = true, .preallocate = n});
  AlignedBuffer buffer(n);
  std::memset(buffer.data(), 1, n);
  try {
    engine.wait(engine.write(f, 0, buffer.data(), n));
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_EQ(e.errnum(), EIO);
    EXPECT_EQ(e.offset(), failAt);
    EXPECT_EQ(e.path(), dir / "eio.bin");
    EXPECT_TRUE(contains(e.what(), "at offset 196608")) << e.what();
    EXPECT_TRUE(contains(e.what(), "EIO")) << e.what();
  }
  // Nothing of the failed request is still running once wait() has thrown.
  const int after = calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(calls.load(), after);
  // The engine is still usable.
  engine.wait(engine.read(f, 0, buffer.data(), 8192));
}

TEST_P(EngineErrorTest, FullDeviceOnATinyTmpfs) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root to mount a 1 MiB tmpfs (ENOSPC case)";
  ScopedMount tiny("tmpfs", "size=1m");
  ASSERT_TRUE(tiny.ok()) << "mount -t tmpfs -o size=1m failed";
  IoEngine engine(options());
  // Preallocation reports the full disk up front and leaves no file behind.
  try {
    engine.open(tiny / "big.bin", {.create = true, .preallocate = 4 << 20});
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_EQ(e.errnum(), ENOSPC);
    EXPECT_TRUE(contains(e.what(), tiny / "big.bin")) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(tiny / "big.bin"));
  // A write that runs out of space fails, naming the file.
  FileId f = engine.open(tiny / "grow.bin", {.create = true});
  const size_t n = 2 << 20;
  AlignedBuffer buffer(n);
  std::memset(buffer.data(), 7, n);
  try {
    engine.wait(engine.write(f, 0, buffer.data(), n));
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_EQ(e.errnum(), ENOSPC) << e.what();
    EXPECT_EQ(e.path(), tiny / "grow.bin");
    EXPECT_LT(e.offset(), n);
    EXPECT_TRUE(contains(e.what(), "ENOSPC")) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, EngineErrorTest, testing::Values(false, true),
                         modeName);

bool acceptsODirect(const std::string &dir) {
  std::string path = dir + "/probe";
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_DIRECT, 0644);
  unlink(path.c_str());
  if (fd >= 0)
    close(fd);
  return fd >= 0;
}

TEST(EngineFallback, FilesystemWithoutODirectUsesThreadPool) {
  // ramfs has no O_DIRECT; tmpfs had none before Linux 6.6.
  ScopedMount ramfs("ramfs", "");
  TempDir shm; // placeholder when /dev/shm is used instead
  std::string where;
  if (ramfs.ok())
    where = ramfs.path();
  else if (!acceptsODirect("/dev/shm"))
    where = "/dev/shm";
  else
    GTEST_SKIP() << "no filesystem without O_DIRECT at hand (not root, so no "
                    "ramfs mount, and /dev/shm accepts O_DIRECT)";
  ASSERT_FALSE(acceptsODirect(where));
  const std::string path = where + "/fallback-" + std::to_string(getpid());
  testing::internal::CaptureStderr();
  {
    IoEngine engine(optionsFor(/*forceThreadPool=*/false));
    FileId f = engine.open(path, {.create = true});
    EXPECT_FALSE(engine.isDirect(f));
    EXPECT_EQ(engine.modeOf(f), EngineMode::ThreadPool);
    std::mt19937_64 rng(4);
    std::vector<std::byte> data = randomBytes(100001, rng), back(100001);
    engine.wait(engine.write(f, 3, data.data(), data.size()));
    engine.wait(engine.read(f, 3, back.data(), back.size()));
    EXPECT_EQ(back, data);
  }
  const std::string log = testing::internal::GetCapturedStderr();
  unlink(path.c_str());
  EXPECT_TRUE(contains(log, "does not support O_DIRECT")) << log;
}

// Installs a seccomp filter making io_uring_setup fail with EPERM, as a
// container runtime's default profile does. Returns false if refused.
bool refuseIoUringSetup() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {static_cast<unsigned short>(std::size(filter)),
                               filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

bool seccompWorksHere() {
  pid_t child = fork();
  if (child == 0)
    _exit(refuseIoUringSetup() ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

[[noreturn]] void runWithIoUringRefused(const std::string &dir) {
  if (!refuseIoUringSetup())
    std::_Exit(3);
  IoEngine engine;
  bool ok = engine.mode() == EngineMode::ThreadPool;
  FileId f = engine.open(dir + "/refused.bin", {.create = true});
  std::vector<std::byte> data(50000, std::byte{0x42}), back(50000);
  engine.wait(engine.write(f, 0, data.data(), data.size()));
  engine.wait(engine.read(f, 0, back.data(), back.size()));
  ok = ok && back == data;
  std::exit(ok ? 0 : 1);
}

TEST(EngineFallbackDeathTest, IoUringRefusedUsesThreadPool) {
  if (!seccompWorksHere())
    GTEST_SKIP() << "seccomp filters are not available to this process";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  EXPECT_EXIT(runWithIoUringRefused(dir.path()), testing::ExitedWithCode(0),
              "io_uring is not available \\(io_uring_queue_init: Operation "
              "not permitted \\(EPERM\\)\\); using a pool of");
}

} // namespace
} // namespace off::io::test
