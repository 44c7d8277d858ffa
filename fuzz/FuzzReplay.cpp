// The deterministic driver ctest runs for each fuzz target (fuzz_replay_<name>):
// every seed file, then N mutations of them (fuzz/Mutations.h), through the
// target's runFuzzInput, without libFuzzer, under any compiler.
//
//   fuzz_replay_<name> [--mutations N] [--seed S] [--crash-dir DIR]
//                      [--memory-limit-mb M] PATH...
//
// PATH: seed files or directories of them. A seed named ok-* must be
// accepted and one named bad-* rejected (cleanly: the target checks that);
// any other name (regressions, libFuzzer finds) only has to be handled
// without a violation. When an input crashes the target (a violation aborts;
// a sanitizer reports), the driver names the input and how it was made, and
// saves it as DIR/crash-<name>.bin for `fuzz_<name> that-file` or a rerun.
// In a build without sanitizers the address space is capped (default 4096
// MiB, as libFuzzer's -rss_limit_mb would) so that an input that makes a
// parser allocate without bound fails as std::bad_alloc, a crash with the
// input named, instead of exhausting a shared machine's memory.
#include "fuzz/FuzzTarget.h"
#include "fuzz/Mutations.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/resource.h>
#include <unistd.h>

// Sanitizer runtimes (ASan/UBSan builds) call this before they end the
// process after a report; absent from plain builds.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace fs = std::filesystem;
using namespace off::fuzz;

namespace {

struct Seed {
  std::string name; // file name, for ok-/bad- and messages
  Bytes bytes;
};

// What the crash report needs, prepared before each input so that the
// signal handler only calls async-signal-safe functions.
struct CurrentInput {
  const uint8_t *data = nullptr;
  size_t size = 0;
  char label[1024] = {};
  char crashPath[4096] = {};
} gCurrent;

void reportCrash() {
  static volatile sig_atomic_t reported = 0;
  if (reported)
    return;
  reported = 1;
  int fd = ::open(gCurrent.crashPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    for (size_t done = 0; done < gCurrent.size;) {
      ssize_t n = ::write(fd, gCurrent.data + done, gCurrent.size - done);
      if (n <= 0)
        break;
      done += size_t(n);
    }
    ::close(fd);
  }
  const char *parts[] = {"\nfuzz_replay: target '", kTargetName, "' crashed on ",
                         gCurrent.label, "\nfuzz_replay: the input is saved in ",
                         gCurrent.crashPath, "\n"};
  for (const char *part : parts)
    if (::write(STDERR_FILENO, part, std::strlen(part)) < 0)
      break;
}

void onFatalSignal(int signal) {
  reportCrash();
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void installCrashReporting(const std::string &crashDir) {
  std::snprintf(gCurrent.crashPath, sizeof gCurrent.crashPath, "%s/crash-%s.bin",
                crashDir.c_str(), kTargetName);
  for (int signal : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    std::signal(signal, onFatalSignal);
  if (__sanitizer_set_death_callback)
    __sanitizer_set_death_callback(reportCrash);
}

Outcome run(const Bytes &input, const std::string &label) {
  gCurrent.data = input.data();
  gCurrent.size = input.size();
  std::snprintf(gCurrent.label, sizeof gCurrent.label, "%s", label.c_str());
  return runFuzzInput(input.data(), input.size());
}

bool readSeeds(const std::string &path, std::vector<Seed> &seeds) {
  std::vector<fs::path> files;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    for (const fs::directory_entry &entry : fs::directory_iterator(path, error))
      if (entry.is_regular_file())
        files.push_back(entry.path());
    std::sort(files.begin(), files.end()); // a stable order: deterministic runs
  } else {
    files.push_back(path);
  }
  for (const fs::path &file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz_replay: %s: cannot read\n", file.c_str());
      return false;
    }
    seeds.push_back({file.filename().string(),
                     Bytes(std::istreambuf_iterator<char>(in), {})});
  }
  return true;
}

void limitMemory(uint64_t megabytes) {
  if (megabytes == 0 || __sanitizer_set_death_callback)
    return; // sanitizers reserve terabytes of address space; they have own limits
  struct rlimit limit{};
  limit.rlim_cur = limit.rlim_max = rlim_t(megabytes) << 20;
  if (::setrlimit(RLIMIT_AS, &limit) != 0)
    std::perror("fuzz_replay: setrlimit");
}

int usage(const char *program) {
  std::fprintf(stderr,
               "usage: %s [--mutations N] [--seed S] [--crash-dir DIR]\n"
               "          [--memory-limit-mb M] PATH...\n"
               "  replays seed files (or directories of them) and N deterministic\n"
               "  mutations of them through the '%s' fuzz target\n",
               program, kTargetName);
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  uint64_t mutations = 0, seed = 1, memoryLimitMb = 4096;
  std::string crashDir = ".";
  std::vector<Seed> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    try {
      if (arg == "--mutations")
        mutations = std::stoull(value());
      else if (arg == "--seed")
        seed = std::stoull(value());
      else if (arg == "--memory-limit-mb")
        memoryLimitMb = std::stoull(value());
      else if (arg == "--crash-dir")
        crashDir = value();
      else if (arg.rfind("-", 0) == 0)
        return usage(argv[0]);
      else if (!readSeeds(arg, seeds))
        return 1;
    } catch (const std::exception &) {
      return usage(argv[0]);
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "fuzz_replay: no seed files given\n");
    return usage(argv[0]);
  }
  installCrashReporting(crashDir);
  limitMemory(memoryLimitMb);

  auto started = std::chrono::steady_clock::now();
  int failures = 0;
  uint64_t expected = 0, accepted = 0;
  for (const Seed &s : seeds) {
    Outcome outcome = run(s.bytes, "seed " + s.name);
    bool wantAccept = s.name.rfind("ok-", 0) == 0, wantReject = s.name.rfind("bad-", 0) == 0;
    if ((wantAccept && outcome != Outcome::Accepted) ||
        (wantReject && outcome != Outcome::Rejected)) {
      std::fprintf(stderr, "FAIL: seed %s was %s\n", s.name.c_str(),
                   outcome == Outcome::Accepted ? "accepted" : "rejected");
      ++failures;
    }
    expected += wantAccept || wantReject;
  }

  Mutator mutator(seed);
  std::string how;
  for (uint64_t i = 0; i < mutations; ++i) {
    const Seed &base = seeds[i % seeds.size()];
    const Seed &donor = seeds[(i * 7 + 3) % seeds.size()];
    Bytes input = mutator.mutate(base.bytes, donor.bytes, how);
    accepted += run(input, "mutation " + std::to_string(i) + " of " + base.name + " (" +
                               how + ", --seed " + std::to_string(seed) + ")") ==
                Outcome::Accepted;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("fuzz_replay %s: %zu seeds (%llu with an expected outcome, %d wrong), "
              "%llu mutations (%llu accepted, %llu rejected cleanly), %.2f s\n",
              kTargetName, seeds.size(), (unsigned long long)expected, failures,
              (unsigned long long)mutations, (unsigned long long)accepted,
              (unsigned long long)(mutations - accepted), seconds);
  return failures ? 1 : 0;
}
