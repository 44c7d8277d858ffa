// `offrt bench io`: the NVMe engine (runtime/io) writing one file
// sequentially and reading it back, with O_DIRECT so that the page cache
// does not inflate the reads. Like fio's sequential jobs: `--qd` requests of
// `--block` bytes in flight, each finished one replaced by the next. The
// file is created afresh and preallocated first (as fio does by default) and
// removed at the end (unless --keep; --phase write/read split the two passes
// so that a comparison can interleave them with fio's). bench/io_compare.sh runs fio with the same settings in
// the same run and prints our/fio ratios.
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "bench/BenchTiming.h"
#include "runtime/common/Json.h"
#include "runtime/common/HumanSize.h"
#include "runtime/io/AlignedBuffer.h"
#include "runtime/io/IoEngine.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace off::io;
using off::bench::BenchClock;
using off::bench::secondsSince;

struct Options {
  std::string dir;
  uint64_t size = 4ull << 30;
  unsigned qd = 32;
  uint64_t block = 1 << 20;
  uint64_t request = 0; // 0: one block per request
  bool fixed = true;
  PageSize pages = PageSize::Huge;
  bool threadPool = false;
  bool json = false;
  bool keep = false;
  std::string phase = "both"; // write, read (of a kept file) or both
};

void addOptions(off::cli::Command &cmd, Options &o) {
  cmd.option("--dir", o.dir, "DIR", "where the test file goes (required)");
  cmd.size("--size", o.size, "file size (default 4G)");
  cmd.option("--qd", o.qd, "N", "requests in flight (default 32)", off::cli::positive);
  cmd.size("--block", o.block, "bytes per engine request (default 1M)");
  cmd.size("--request", o.request, "bytes per caller request, a multiple of\n--block "
                                   "(default: one block)");
  cmd.choice("--fixed-buffers", o.fixed, {{"on", true}, {"off", false}},
             "io_uring registered buffers (default on)");
  cmd.choice("--pages", o.pages, {{"huge", PageSize::Huge}, {"4k", PageSize::Small}},
             "the buffer's pages: huge (2 MiB THP, as the\nexecutor's host arenas; default) "
             "or 4k");
  cmd.flag("--thread-pool", o.threadPool, "the pread/pwrite thread pool even where\nio_uring works");
  cmd.choice("--phase", o.phase, {"write", "read", "both"},
             "write, read (of a --keep file) or both\n(default)");
  cmd.flag("--keep", o.keep, "keep the file afterwards");
  cmd.flag("--json", o.json, "one JSON object on stdout");
}

/// The checks between options; throws UsageError.
void checkOptions(Options &o) {
  if (o.dir.empty())
    throw off::bench::UsageError("--dir is required");
  if (!std::filesystem::is_directory(o.dir))
    throw off::bench::UsageError("--dir " + o.dir + " is not a directory");
  if (o.request == 0)
    o.request = o.block;
  if (o.request % o.block != 0)
    throw off::bench::UsageError("--request must be a multiple of --block");
  if (o.size % o.request != 0)
    throw off::bench::UsageError("--size must be a multiple of --request");
}

/// Streams the whole file through the engine: `window` requests in flight,
/// each on its own slice of `buffer`. Returns seconds.
double stream(IoEngine &engine, FileId file, IoOp op, const Options &o,
              std::byte *buffer, unsigned window, const char *label) {
  const bool progress = !o.json && isatty(STDERR_FILENO);
  std::deque<Ticket> inFlight;
  uint64_t next = 0, done = 0;
  auto lastReport = BenchClock::now();
  const auto start = BenchClock::now();
  while (done < o.size) {
    while (next < o.size && inFlight.size() < window) {
      std::byte *slice = buffer + (next / o.request % window) * o.request;
      inFlight.push_back(op == IoOp::Read
                             ? engine.read(file, next, slice, o.request)
                             : engine.write(file, next, slice, o.request));
      next += o.request;
    }
    engine.wait(inFlight.front());
    inFlight.pop_front();
    done += o.request;
    if (progress && BenchClock::now() - lastReport > std::chrono::seconds(1)) {
      lastReport = BenchClock::now();
      std::fprintf(stderr, "\r%s %s / %s", label,
                   off::formatHumanSize(done).c_str(),
                   off::formatHumanSize(o.size).c_str());
    }
  }
  const double seconds = secondsSince(start);
  if (progress)
    std::fprintf(stderr, "\r%*s\r", 40, "");
  return seconds;
}

/// Writes and/or reads `path` as the options say and prints the rates.
int measure(const Options &o, const std::string &path) {
  EngineOptions eo;
  eo.queueDepth = o.qd;
  eo.blockSize = o.block;
  eo.registerBuffers = o.fixed;
  eo.forceThreadPool = o.threadPool;
  IoEngine engine(eo);

  // Enough requests in flight to keep qd blocks busy, and at least two so
  // that one is queued while the other finishes.
  const unsigned window = static_cast<unsigned>(
      std::max<uint64_t>(2, (o.qd * o.block + o.request - 1) / o.request));
  AlignedBuffer buffer(window * o.request, 4096, o.pages);
  std::mt19937_64 rng(1); // incompressible data, as fio writes
  auto *words = reinterpret_cast<uint64_t *>(buffer.data());
  for (size_t i = 0; i < buffer.size() / 8; ++i)
    words[i] = rng();
  const bool fixed = engine.registerBuffer(buffer.data(), buffer.size());

  // A write starts from a fresh, preallocated file; a read alone needs
  // the file a `--phase write --keep` run left.
  const bool doWrite = o.phase != "read", doRead = o.phase != "write";
  if (doWrite)
    std::filesystem::remove(path);
  FileId file = doWrite ? engine.open(path, {.create = true,
                                             .preallocate = o.size})
                        : engine.open(path);
  if (!doWrite && std::filesystem::file_size(path) < o.size)
    throw off::bench::UsageError(path + " is shorter than --size; write it "
                                       "first with --phase write --keep");
  const std::string mode = engine.isDirect(file)
                               ? toString(engine.modeOf(file))
                               : "thread pool (no O_DIRECT here)";
  if (!o.json)
    std::fprintf(stderr, "io: %s of %s in %s requests, %s\n",
                 path.c_str(), off::formatHumanSize(o.size).c_str(),
                 off::formatHumanSize(o.request).c_str(),
                 engine.describe().c_str());

  const double writeSeconds =
      doWrite ? stream(engine, file, IoOp::Write, o, buffer.data(), window,
                       "write")
              : 0.0;
  const double readSeconds =
      doRead ? stream(engine, file, IoOp::Read, o, buffer.data(), window,
                      "read")
             : 0.0;
  const double writeGBps = doWrite ? double(o.size) / writeSeconds / 1e9 : 0;
  const double readGBps = doRead ? double(o.size) / readSeconds / 1e9 : 0;
  engine.unregisterBuffer(buffer.data());
  if (!o.keep)
    std::filesystem::remove(path);

  if (o.json) {
    off::Json json = {{"bench", "io"},
                      {"mode", mode},
                      {"direct", engine.isDirect(file)},
                      {"fixed_buffers", fixed},
                      {"pages", o.pages == PageSize::Huge ? "huge" : "4k"},
                      {"size", o.size},
                      {"block", o.block},
                      {"request", o.request},
                      {"qd", o.qd},
                      {"write_seconds", writeSeconds},
                      {"read_seconds", readSeconds},
                      {"write_GBps", writeGBps},
                      {"read_GBps", readGBps}};
    std::printf("%s\n", json.dump().c_str());
  } else {
    std::printf("engine: %s%s\n", mode.c_str(),
                engine.isDirect(file) ? ", O_DIRECT" : "");
    std::printf("fixed buffers: %s, %s pages\n", fixed ? "yes" : "no",
                o.pages == PageSize::Huge ? "huge" : "4k");
    if (doWrite)
      std::printf("write: %.3f GB/s (%s in %.2f s)\n", writeGBps,
                  off::formatHumanSize(o.size).c_str(), writeSeconds);
    if (doRead)
      std::printf("read:  %.3f GB/s (%s in %.2f s)\n", readGBps,
                  off::formatHumanSize(o.size).c_str(), readSeconds);
  }
  return 0;
}

int runIoBench(const std::vector<std::string> &args) {
  Options o;
  off::cli::Command cmd("offrt bench io", "--dir DIR [options]",
                        "The NVMe engine (runtime/io): a sequential O_DIRECT write, then read, of "
                        "one\nfile; GB/s.");
  addOptions(cmd, o);
  return off::bench::runBenchmark(cmd, args, [&] {
    checkOptions(o);
    const std::string path = o.dir + "/offrt-bench-io.bin";
    try {
      return measure(o, path);
    } catch (...) {
      std::error_code ignored; // a failed run leaves no half-written file
      if (!o.keep)
        std::filesystem::remove(path, ignored);
      throw;
    }
  });
}

off::bench::Registration registration{
    {"io", "NVMe engine: sequential O_DIRECT write then read of one file, GB/s", runIoBench}};

} // namespace
