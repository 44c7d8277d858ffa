// `offrt bench adam`: the CPU AdamW step (runtime/optim) on one large tensor.
// Reports params/s and GB/s, counting the bytes Adam must move per parameter
// (read param, m, v, grad; write param, m, v and the optional copy).
// `--triad` also measures STREAM-like triads (a = b + s*c, a += s*b) on the
// same threads, for the bandwidth bound. bench/adam_compare.py puts these beside
// torch and DeepSpeed measured in the same run.
#include "bench/BenchRegistry.h"
#include "runtime/common/HumanSize.h"
#include "runtime/common/Parallel.h"
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

namespace {

using namespace off::optim;
using Clock = std::chrono::steady_clock;

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t[], FreeDeleter>;

Buffer allocate(size_t bytes) {
  size_t rounded = (std::max<size_t>(bytes, 1) + 4095) / 4096 * 4096;
  void *p = std::aligned_alloc(4096, rounded);
  if (!p)
    throw std::runtime_error("cannot allocate " + off::formatHumanSize(bytes));
  return Buffer(static_cast<uint8_t *>(p));
}

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
};

Options parse(const std::vector<std::string> &args) {
  Options o;
  auto value = [&](size_t &i) -> const std::string & {
    if (i + 1 >= args.size())
      throw std::invalid_argument(args[i] + " needs a value");
    return args[++i];
  };
  auto size = [&](size_t &i) {
    const std::string &text = value(i);
    std::optional<uint64_t> parsed = off::parseHumanSize(text);
    if (!parsed)
      throw std::invalid_argument(args[i - 1] + ": '" + text + "' is not a size (e.g. 256M, 1G)");
    return *parsed;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--params") {
      o.params = size(i);
    } else if (a == "--threads") {
      o.threads = unsigned(std::stoul(value(i)));
    } else if (a == "--grad-dtype") {
      const std::string &v = value(i);
      if (v != "f32" && v != "bf16")
        throw std::invalid_argument("--grad-dtype must be f32 or bf16");
      o.grad = v == "f32" ? GradDtype::F32 : GradDtype::BF16;
    } else if (a == "--out-dtype") {
      const std::string &v = value(i);
      if (v != "none" && v != "f32" && v != "bf16")
        throw std::invalid_argument("--out-dtype must be none, f32 or bf16");
      o.out = v == "none" ? OutDtype::None : v == "f32" ? OutDtype::F32 : OutDtype::BF16;
    } else if (a == "--steps") {
      o.steps = std::stoi(value(i));
      if (o.steps < 1)
        throw std::invalid_argument("--steps must be >= 1");
    } else if (a == "--tile") {
      o.tile = size(i);
    } else if (a == "--isa") {
      o.isa = parseAdamIsa(value(i));
      if (!o.isa)
        throw std::invalid_argument("--isa must be scalar, avx2 or avx512");
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--triad") {
      o.triad = true;
    } else {
      throw std::invalid_argument("unknown option " + a);
    }
  }
  if (o.params == 0)
    throw std::invalid_argument("--params must be > 0");
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Bandwidth {
  double triad = 0, inPlace = 0; // GB/s
};

/// STREAM triad a = b + s*c, and the in-place a = a + s*b (no write-allocate
/// traffic, like Adam's in-place updates), over n floats on the pool. GB/s
/// counts 12 bytes per element for both, as STREAM does. Median of `repeats`.
Bandwidth measureBandwidth(off::ThreadPool &pool, size_t n, int repeats) {
  Buffer a = allocate(n * 4), b = allocate(n * 4), c = allocate(n * 4);
  float *pa = reinterpret_cast<float *>(a.get()), *pb = reinterpret_cast<float *>(b.get()),
        *pc = reinterpret_cast<float *>(c.get());
  pool.parallelFor(0, n, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      pa[i] = 0.0f;
      pb[i] = 1.0f;
      pc[i] = 2.0f;
    }
  }, 4096);
  auto time = [&](const off::ThreadPool::RangeFn &body) {
    std::vector<double> seconds;
    for (int r = 0; r <= repeats; ++r) {
      auto start = Clock::now();
      pool.parallelFor(0, n, body, 4096);
      if (r > 0) // the first pass is a warm-up
        seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    return 12.0 * double(n) / median(seconds) / 1e9;
  };
  Bandwidth result;
  result.triad = time([&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i)
      pa[i] = pb[i] + 3.0f * pc[i];
  });
  result.inPlace = time([&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i)
      pa[i] = pa[i] + 3.0f * pb[i];
  });
  return result;
}

int runAdamBench(const std::vector<std::string> &args) {
  Options o;
  try {
    o = parse(args);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "offrt bench adam: %s\n", e.what());
    return 2;
  }
  try {
    off::ThreadPool pool(o.threads);
    const AdamIsa isa = o.isa.value_or(defaultAdamIsa());
    const size_t n = o.params;
    const size_t gradBytes = o.grad == GradDtype::F32 ? 4 : 2;
    const size_t outBytes = o.out == OutDtype::None ? 0 : o.out == OutDtype::F32 ? 4 : 2;
    const size_t bytesPerParam = adamwBytesPerElement(o.grad, o.out);
    if (!o.json)
      std::fprintf(stderr, "adam: %s params (%s of state and grads), %u threads, %s kernel\n",
                   off::formatHumanSize(n).c_str(),
                   off::formatHumanSize(n * (12 + gradBytes + outBytes)).c_str(),
                   pool.threadCount(), adamIsaName(isa));

    Buffer param = allocate(n * 4), m = allocate(n * 4), v = allocate(n * 4),
           grad = allocate(n * gradBytes), out = allocate(n * outBytes);
    AdamWTensor t;
    t.param = reinterpret_cast<float *>(param.get());
    t.expAvg = reinterpret_cast<float *>(m.get());
    t.expAvgSq = reinterpret_cast<float *>(v.get());
    t.grad = grad.get();
    t.gradDtype = o.grad;
    t.paramOut = o.out == OutDtype::None ? nullptr : out.get();
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
          reinterpret_cast<float *>(grad.get())[i] = g;
        else
          reinterpret_cast<uint16_t *>(grad.get())[i] = uint16_t(std::bit_cast<uint32_t>(g) >> 16);
        if (o.out == OutDtype::F32)
          reinterpret_cast<float *>(out.get())[i] = 0.0f;
        else if (o.out == OutDtype::BF16)
          reinterpret_cast<uint16_t *>(out.get())[i] = 0;
      }
    }, 4096);

    AdamWHyper hyper;
    AdamWRun run{isa, &pool};
    std::vector<double> seconds;
    for (int step = 1; step <= o.steps + 1; ++step) { // step 1 is a warm-up
      auto start = Clock::now();
      if (o.tile == 0)
        adamwStep(t, hyper, step, run);
      else
        adamwStepTiled(t, hyper, step, o.tile, {}, run);
      double s = std::chrono::duration<double>(Clock::now() - start).count();
      if (step > 1)
        seconds.push_back(s);
      if (!o.json)
        std::fprintf(stderr, "  step %d/%d: %.3f s%s\n", step, o.steps + 1, s,
                     step == 1 ? " (warm-up)" : "");
    }
    const double med = median(seconds);
    const double best = *std::min_element(seconds.begin(), seconds.end());
    const double paramsPerS = double(n) / med;
    const double gbPerS = paramsPerS * double(bytesPerParam) / 1e9;
    param.reset(), m.reset(), v.reset(), grad.reset(), out.reset();
    const Bandwidth bandwidth =
        o.triad ? measureBandwidth(pool, std::max<size_t>(n, 32u << 20), 5) : Bandwidth{};

    const char *gradName = o.grad == GradDtype::F32 ? "f32" : "bf16";
    const char *outName = o.out == OutDtype::None ? "none" : o.out == OutDtype::F32 ? "f32" : "bf16";
    if (o.json) {
      std::printf("{\"benchmark\": \"adam\", \"params\": %zu, \"threads\": %u, \"isa\": \"%s\", "
                  "\"grad_dtype\": \"%s\", \"out_dtype\": \"%s\", \"tile\": %llu, "
                  "\"steps\": %d, \"bytes_per_param\": %zu, \"seconds_per_step\": %.6f, "
                  "\"best_seconds_per_step\": %.6f, \"params_per_s\": %.1f, \"gb_per_s\": %.3f",
                  n, pool.threadCount(), adamIsaName(isa), gradName, outName,
                  (unsigned long long)o.tile, o.steps, bytesPerParam, med, best, paramsPerS,
                  gbPerS);
      if (o.triad)
        std::printf(", \"triad_gb_per_s\": %.3f, \"inplace_triad_gb_per_s\": %.3f",
                    bandwidth.triad, bandwidth.inPlace);
      std::printf("}\n");
    } else {
      std::printf("adam %s params, grad %s, out %s, %u threads, %s: %.3f s/step (median of %d), "
                  "%.3g params/s, %.2f GB/s (%zu B/param)\n",
                  off::formatHumanSize(n).c_str(), gradName, outName, pool.threadCount(),
                  adamIsaName(isa), med, o.steps, paramsPerS, gbPerS, bytesPerParam);
      if (o.triad)
        std::printf("bandwidth (12 B/element): triad a = b + s*c %.2f GB/s, in place a += s*b "
                    "%.2f GB/s; adam / best = %.2f\n",
                    bandwidth.triad, bandwidth.inPlace,
                    gbPerS / std::max(bandwidth.triad, bandwidth.inPlace));
    }
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "offrt bench adam: %s\n", e.what());
    return 1;
  }
}

off::bench::Registration registration{
    {"adam",
     "adam [--params 256M] [--threads N] [--grad-dtype f32|bf16] [--out-dtype none|f32|bf16] "
     "[--steps 5] [--tile SIZE] [--isa scalar|avx2|avx512] [--triad] [--json]",
     "CPU AdamW step: params/s and GB/s moved", runAdamBench}};

} // namespace
