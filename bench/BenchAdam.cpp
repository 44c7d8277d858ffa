// `offrt bench adam`: the CPU AdamW step (runtime/optim) on one large tensor.
// Reports params/s and GB/s, counting the bytes Adam must move per parameter
// (read param, m, v, grad; write param, m, v and the optional copy).
// The tensors live in memory allocated as the runtime's host arena allocates
// it (off::backend::HostMemory: mmap with MADV_HUGEPAGE), or with `--pages 4k`
// in 4 KiB pages (what a plain malloc gives where transparent huge pages are
// "madvise", as torch tensors get by default).
// `--triad` also measures, on the same threads and the same kind of memory,
// STREAM-like triads (a = b + s*c, a += s*b) and Adam's own access pattern
// with trivial arithmetic (4 streams read, 3 of them written back in place),
// for the bandwidth bound. bench/adam_compare.py puts these beside torch and
// DeepSpeed measured in the same run.
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "bench/BenchTiming.h"
#include "runtime/common/Json.h"
#include "runtime/common/HumanSize.h"
#include "runtime/common/Parallel.h"
#include "runtime/backend/HostMemory.h"
#include "runtime/optim/AdamW.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/mman.h>

namespace {

using namespace off::optim;
using off::bench::BenchClock;
using off::bench::median;
using off::bench::secondsSince;

enum class Pages { Huge, Small };

/// Buffers of the given sizes carved from one allocation of the kind
/// `pages` names (see the file comment), as the runtime carves tensors from
/// one arena.
///
/// Each buffer starts 4 KiB past a 64 KiB boundary further than the one
/// before: on AMD Zen, arrays whose addresses agree in bits 12-27 (e.g.
/// 256 MiB tensors laid side by side) collide in the L1's address-hashed way
/// predictor, and a step reading four of them runs 4-5x slower (3-5 GB/s
/// instead of ~20 GB/s here; docs/benchmarks.md). Torch's allocations are
/// staggered by malloc's chunk headers; ours must be too, or the benchmark
/// would measure the collision, not Adam.
class BenchArena {
public:
  BenchArena(const std::vector<size_t> &sizes, Pages pages) {
    constexpr size_t kStagger = (64 << 10) + 4096;
    size_t total = 0;
    for (size_t bytes : sizes) {
      offsets_.push_back(total);
      total += (bytes + 4095) / 4096 * 4096 + kStagger;
    }
    if (pages == Pages::Huge) {
      off::backend::HostMemoryOptions unpinned; // pinning changes nothing for the CPU's own reads
      unpinned.pinned = false;
      arena_ = off::backend::HostMemory(total, "bench", unpinned);
      base_ = reinterpret_cast<uint8_t *>(arena_.data());
      return;
    }
    heap_.reset(static_cast<uint8_t *>(std::aligned_alloc(4096, total)));
    if (!heap_)
      throw std::runtime_error("cannot allocate " + off::formatHumanSize(total));
    madvise(heap_.get(), total, MADV_NOHUGEPAGE); // 4 KiB pages even where THP is "always"
    base_ = heap_.get();
  }
  template <typename T> T *buffer(size_t index) const {
    return reinterpret_cast<T *>(base_ + offsets_.at(index));
  }

private:
  struct FreeDeleter {
    void operator()(void *p) const { std::free(p); }
  };
  std::vector<size_t> offsets_;
  off::backend::HostMemory arena_;
  std::unique_ptr<uint8_t[], FreeDeleter> heap_;
  uint8_t *base_ = nullptr;
};

struct Options {
  uint64_t params = 256ull << 20;
  unsigned threads = 0;
  GradDtype grad = GradDtype::F32;
  OutDtype out = OutDtype::None;
  int steps = 5;
  uint64_t tile = 0; // 0: whole tensor in one call
  std::optional<AdamIsa> isa;
  bool json = false;
  bool triad = false;
  Pages pages = Pages::Huge;
};

void addOptions(off::cli::Command &cmd, Options &o) {
  cmd.size("--params", o.params, "parameters in the one tensor (default 256M)");
  cmd.threads("--threads", o.threads, "threads, at most the CPUs this process may run\non (default: all of them)");
  cmd.choice("--grad-dtype", o.grad, {{"f32", GradDtype::F32}, {"bf16", GradDtype::BF16}},
             "gradient dtype (default f32)");
  cmd.choice("--out-dtype", o.out,
             {{"none", OutDtype::None}, {"f32", OutDtype::F32}, {"bf16", OutDtype::BF16}},
             "also write a compute-dtype copy (default none)");
  cmd.option("--steps", o.steps, "N", "timed steps; the median is reported (default 5)",
             off::cli::positive);
  cmd.size("--tile", o.tile, "update the tensor in tiles of this many\nparameters "
                             "(default: one call)");
  cmd.choice("--isa", o.isa,
             {{"scalar", AdamIsa::Scalar}, {"avx2", AdamIsa::Avx2}, {"avx512", AdamIsa::Avx512}},
             "kernel (default: the best this CPU runs)");
  cmd.choice("--pages", o.pages, {{"huge", Pages::Huge}, {"4k", Pages::Small}},
             "huge (the host arena's mmap + MADV_HUGEPAGE,\ndefault) or 4k pages");
  cmd.flag("--triad", o.triad, "also measure the memory-bandwidth bound\n"
                               "(STREAM triads, Adam's access pattern)");
  cmd.flag("--json", o.json, "one JSON object on stdout");
}

struct Bandwidth {
  double triad = 0, inPlace = 0, adamPattern = 0; // GB/s, best of the repeats
};

/// STREAM triad a = b + s*c and the in-place a = a + s*b over n floats
/// (12 bytes per element as STREAM counts them, though the triad's store
/// also reads `a` in first), and Adam's pattern: p, m, v = x*s + g, which
/// reads four arrays and writes three back in place, 28 bytes per element
/// and no other traffic: the bound for Adam's fp32 update on this memory.
Bandwidth measureBandwidth(off::ThreadPool &pool, size_t n, Pages pages, int repeats) {
  BenchArena arena({n * 4, n * 4, n * 4, n * 4}, pages);
  float *pa = arena.buffer<float>(0), *pb = arena.buffer<float>(1), *pc = arena.buffer<float>(2),
        *pd = arena.buffer<float>(3);
  pool.parallelFor(0, n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      pa[i] = 0.0f;
      pb[i] = 1.0f;
      pc[i] = 2.0f;
      pd[i] = 0.5f;
    }
  }, 4096);
  auto time = [&](double bytesPerElement, const off::ThreadPool::RangeFn &body) {
    double best = 1e30;
    for (int r = 0; r <= repeats; ++r) {
      auto start = BenchClock::now();
      pool.parallelFor(0, n, body, 4096);
      if (r > 0) // the first pass is a warm-up
        best = std::min(best, secondsSince(start));
    }
    return bytesPerElement * double(n) / best / 1e9;
  };
  Bandwidth result;
  result.triad = time(12, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i)
      pa[i] = pb[i] + 3.0f * pc[i];
  });
  result.inPlace = time(12, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i)
      pa[i] = pa[i] + 3.0f * pb[i];
  });
  // The scale keeps the values bounded over the repeats (no denormals, no inf).
  result.adamPattern = time(28, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      const float g = pd[i];
      pa[i] = pa[i] * 0.5f + g;
      pb[i] = pb[i] * 0.5f + g;
      pc[i] = pc[i] * 0.5f + g;
    }
  });
  return result;
}

/// Seconds of each timed step (after one warm-up step) of AdamW on n
/// parameters in memory of the kind the options name.
std::vector<double> timeSteps(const Options &o, off::ThreadPool &pool, AdamIsa isa) {
  const size_t n = o.params;
  const size_t gradBytes = o.grad == GradDtype::F32 ? 4 : 2;
  const size_t outBytes = o.out == OutDtype::None ? 0 : o.out == OutDtype::F32 ? 4 : 2;
  BenchArena arena({n * 4, n * 4, n * 4, n * gradBytes, n * outBytes}, o.pages);
  float *gradF32 = arena.buffer<float>(3), *outF32 = arena.buffer<float>(4);
  uint16_t *gradBf16 = arena.buffer<uint16_t>(3), *outBf16 = arena.buffer<uint16_t>(4);
  AdamWTensor t;
  t.param = arena.buffer<float>(0);
  t.expAvg = arena.buffer<float>(1);
  t.expAvgSq = arena.buffer<float>(2);
  t.grad = gradF32;
  t.gradDtype = o.grad;
  t.paramOut = o.out == OutDtype::None ? nullptr : outF32;
  t.outDtype = o.out;
  t.count = n;
  t.name = "bench";
  // First touch on the threads that will update each range; normal-sized
  // values (denormals would measure the FPU's slow path, not Adam).
  pool.parallelFor(0, n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      float g = float(int((i * 2654435761u) >> 8 & 0xffff) - 32768) / 32768.0f;
      t.param[i] = 0.5f * g;
      t.expAvg[i] = 0.0f;
      t.expAvgSq[i] = 0.0f;
      if (o.grad == GradDtype::F32)
        gradF32[i] = g;
      else
        gradBf16[i] = uint16_t(std::bit_cast<uint32_t>(g) >> 16);
      if (o.out == OutDtype::F32)
        outF32[i] = 0.0f;
      else if (o.out == OutDtype::BF16)
        outBf16[i] = 0;
    }
  }, 4096);

  AdamWHyper hyper;
  AdamWRun run{isa, &pool};
  std::vector<double> seconds;
  for (int step = 1; step <= o.steps + 1; ++step) { // step 1 is a warm-up
    auto start = BenchClock::now();
    if (o.tile == 0)
      adamwStep(t, hyper, step, run);
    else
      adamwStepTiled(t, hyper, step, o.tile, {}, run);
    double s = secondsSince(start);
    if (step > 1)
      seconds.push_back(s);
    if (!o.json)
      std::fprintf(stderr, "  step %d/%d: %.3f s%s\n", step, o.steps + 1, s,
                   step == 1 ? " (warm-up)" : "");
  }
  return seconds;
}

int runAdamBench(const std::vector<std::string> &args) {
  Options o;
  off::cli::Command cmd("offrt bench adam", "[options]",
                        "The CPU AdamW step (runtime/optim) on one large tensor: params/s and "
                        "GB/s\nmoved (param, m, v, grad read; param, m, v and the optional copy "
                        "written).");
  addOptions(cmd, o);
  return off::bench::runBenchmark(cmd, args, [&] {
    off::ThreadPool pool(o.threads);
    const AdamIsa isa = o.isa.value_or(defaultAdamIsa());
    const size_t n = o.params;
    const size_t bytesPerParam = adamwBytesPerElement(o.grad, o.out);
    const char *pagesName = o.pages == Pages::Huge ? "huge" : "4k";
    if (!o.json)
      std::fprintf(stderr, "adam: %s params (%s of state and grads), %u threads, %s kernel, "
                   "%s pages\n",
                   off::formatHumanSize(n).c_str(),
                   off::formatHumanSize(n * bytesPerParam / 2).c_str(), pool.threadCount(),
                   adamIsaName(isa), pagesName);

    const std::vector<double> seconds = timeSteps(o, pool, isa);
    const double med = median(seconds);
    const double best = *std::min_element(seconds.begin(), seconds.end());
    const double paramsPerS = double(n) / med;
    const double gbPerS = paramsPerS * double(bytesPerParam) / 1e9;
    const Bandwidth bandwidth =
        o.triad ? measureBandwidth(pool, std::max<size_t>(n, 32u << 20), o.pages, 5)
                : Bandwidth{};

    const char *gradName = o.grad == GradDtype::F32 ? "f32" : "bf16";
    const char *outName = o.out == OutDtype::None ? "none" : o.out == OutDtype::F32 ? "f32" : "bf16";
    if (o.json) {
      off::Json json = {{"benchmark", "adam"},
                        {"params", n},
                        {"threads", pool.threadCount()},
                        {"isa", adamIsaName(isa)},
                        {"pages", pagesName},
                        {"grad_dtype", gradName},
                        {"out_dtype", outName},
                        {"tile", o.tile},
                        {"steps", o.steps},
                        {"bytes_per_param", bytesPerParam},
                        {"seconds_per_step", med},
                        {"best_seconds_per_step", best},
                        {"params_per_s", paramsPerS},
                        {"gb_per_s", gbPerS}};
      if (o.triad) {
        json["triad_gb_per_s"] = bandwidth.triad;
        json["inplace_triad_gb_per_s"] = bandwidth.inPlace;
        json["adam_pattern_gb_per_s"] = bandwidth.adamPattern;
      }
      std::printf("%s\n", json.dump().c_str());
    } else {
      std::printf("adam %s params, grad %s, out %s, %u threads, %s, %s pages: %.3f s/step "
                  "(median of %d), %.3g params/s, %.2f GB/s (%zu B/param)\n",
                  off::formatHumanSize(n).c_str(), gradName, outName, pool.threadCount(),
                  adamIsaName(isa), pagesName, med, o.steps, paramsPerS, gbPerS, bytesPerParam);
      if (o.triad)
        std::printf("bandwidth (best of 5): triad a = b + s*c %.2f GB/s, in place a += s*b "
                    "%.2f GB/s (12 B/element); Adam's pattern, trivial arithmetic %.2f GB/s "
                    "(28 B/element); adam / Adam's pattern = %.2f\n",
                    bandwidth.triad, bandwidth.inPlace, bandwidth.adamPattern,
                    gbPerS / bandwidth.adamPattern);
    }
    return 0;
  });
}

off::bench::Registration registration{
    {"adam", "CPU AdamW step: params/s and GB/s moved", runAdamBench}};

} // namespace
