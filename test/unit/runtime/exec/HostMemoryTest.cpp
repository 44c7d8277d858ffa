// Pinned host memory: it is really locked, and when the OS refuses (run in a
// forked child with a lowered RLIMIT_MEMLOCK and without CAP_IPC_LOCK) the
// error says how much was asked, how much may be locked and how to raise it;
// with allowUnpinned the run continues on pageable memory with a warning.
#include "ExecTestUtil.h"

#include <fstream>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace off::exec::testing {
namespace {

uint64_t lockedKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmLck:", 0) == 0)
      return std::stoull(line.substr(6));
  return 0;
}

TEST(HostMemory, PinnedMemoryIsLockedAndUsable) {
  uint64_t before = lockedKiB();
  {
    HostMemory memory(1 << 20, "arena 'host'");
    ASSERT_TRUE(memory.pinned());
    EXPECT_GE(lockedKiB(), before + 1024);
    memory.data()[0] = std::byte{1};
    memory.data()[(1 << 20) - 1] = std::byte{2};
    HostMemory moved = std::move(memory);
    EXPECT_EQ(memory.data(), nullptr);
    EXPECT_EQ(moved.data()[(1 << 20) - 1], std::byte{2});
  }
  EXPECT_EQ(lockedKiB(), before); // unlocked when released
}

TEST(HostMemory, UnpinnedRequestIsNotLocked) {
  uint64_t before = lockedKiB();
  HostMemoryOptions options;
  options.pinned = false;
  HostMemory memory(1 << 20, "arena 'device'", options);
  EXPECT_FALSE(memory.pinned());
  EXPECT_EQ(lockedKiB(), before);
}

// Runs `body` in a forked child that may lock at most 64 KiB and has no
// CAP_IPC_LOCK (root would otherwise ignore the limit); returns what the
// child wrote to its pipe.
std::string inChildWithLowMemlock(
    const std::function<std::string()> &body) {
  int fds[2];
  if (pipe(fds) != 0)
    return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    syscall(SYS_capget, &header, data);
    data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    data[CAP_IPC_LOCK / 32].permitted &= ~(1u << (CAP_IPC_LOCK % 32));
    std::string out;
    if (syscall(SYS_capset, &header, data) != 0) {
      out = "capset failed";
    } else {
      rlimit limit{64 << 10, 64 << 10};
      out = setrlimit(RLIMIT_MEMLOCK, &limit) == 0 ? body()
                                                   : "setrlimit failed";
    }
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string result;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;)
    result.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return result;
}

TEST(HostMemory, RefusalSaysHowMuchAndHowToRaiseTheLimit) {
  std::string message = inChildWithLowMemlock([] {
    try {
      HostMemory memory(4 << 20, "arena 'pinned-host'");
      return std::string("allocated, pinned=") +
             (memory.pinned() ? "yes" : "no");
    } catch (const PinningError &e) {
      return std::string(e.what());
    }
  });
  for (const char *expected :
       {"cannot pin 4.0M (4194304 bytes) of host memory for arena "
        "'pinned-host': mlock failed",
        "This process may lock at most 64.0K more (RLIMIT_MEMLOCK soft limit "
        "64.0K, hard limit 64.0K, 0B locked already)",
        "ulimit -l", "/etc/security/limits.conf", "LimitMEMLOCK=infinity",
        "--allow-unpinned"})
    EXPECT_NE(message.find(expected), std::string::npos)
        << "missing '" << expected << "' in: " << message;
}

TEST(HostMemory, RefusalCanFallBackToUnpinnedWithAWarning) {
  std::string outcome = inChildWithLowMemlock([] {
    std::string warning;
    HostMemoryOptions options;
    options.allowUnpinned = true;
    options.warn = [&](const std::string &w) { warning = w; };
    HostMemory memory(4 << 20, "arena 'pinned-host'", options);
    memory.data()[(4 << 20) - 1] = std::byte{7}; // usable
    return std::string(memory.pinned() ? "pinned" : "unpinned") + "|" +
           warning;
  });
  EXPECT_EQ(outcome.rfind("unpinned|warning: cannot pin 4.0M", 0), 0u)
      << outcome;
  EXPECT_NE(outcome.find("Continuing with unpinned memory"), std::string::npos);
}

TEST(HostMemory, ExecutorReportsRefusalOrContinuesWhenAllowed) {
  std::string outcome = inChildWithLowMemlock([] {
    Program program;
    program.arenas = {{"host", Tier::Host, 1 << 20, 0, true}};
    std::string result;
    try {
      Executor executor(testBackend(), program);
      result = "no error";
    } catch (const PinningError &e) {
      result = "refused: " + std::string(e.what()).substr(0, 46);
    }
    ExecutorOptions options;
    options.hostMemory.allowUnpinned = true;
    options.hostMemory.warn = [](const std::string &) {};
    Executor executor(testBackend(), program, options);
    return result + "|pinned=" + (executor.arenaPinned(0) ? "yes" : "no");
  });
  EXPECT_EQ(outcome, "refused: cannot pin 1.0M (1048576 bytes) of host memory|"
                     "pinned=no");
}

} // namespace
} // namespace off::exec::testing
