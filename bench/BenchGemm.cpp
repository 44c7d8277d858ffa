// `offrt bench gemm`: single-precision GEMM at the shapes of a Llama's
// Linear layers (forward y = x W^T, input gradient dY W, weight gradient
// dY^T x), three ways in one run:
//   ours        off::cpu::gemm on this process's f32 path (our AVX-512F kernel
//               or OpenBLAS, single-threaded per block, blocks on our thread
//               pool: what the CPU backend uses; the first line names it)
//   openblas-mt one OpenBLAS call with OpenBLAS's own threads
//   onednn      dnnl_sgemm of oneDNN (libdnnl.so.2 loaded with dlopen, so
//               offrt never depends on it), its OpenMP threads set to ours
// GFLOP/s each (best of --rounds interleaved rounds) and the ratios of
// their times to ours. docs/blas.md records the results.
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "bench/BenchTiming.h"
#include "runtime/common/Parallel.h"
#include "runtime/cpu/Gemm.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {


// oneDNN's C API, declared here so that nothing of oneDNN is needed to build.
using DnnlSgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t,
                          const float *, int64_t, float, float *, int64_t);
struct DnnlVersion {
  int major, minor, patch;
  const char *hash;
  unsigned cpuRuntime, gpuRuntime;
};
using DnnlVersionFn = const DnnlVersion *(*)();
using OmpSetThreads = void (*)(int);

struct OneDnn {
  DnnlSgemm sgemm = nullptr;
  OmpSetThreads setThreads = nullptr;
  std::string version;
};

OneDnn loadOneDnn() {
  OneDnn dnn;
  void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_GLOBAL);
  if (!lib)
    lib = dlopen("libdnnl.so", RTLD_NOW | RTLD_GLOBAL);
  if (!lib)
    return dnn;
  dnn.sgemm = reinterpret_cast<DnnlSgemm>(dlsym(lib, "dnnl_sgemm"));
  dnn.setThreads = reinterpret_cast<OmpSetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (auto version = reinterpret_cast<DnnlVersionFn>(dlsym(lib, "dnnl_version"))) {
    const DnnlVersion *v = version();
    dnn.version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                  std::to_string(v->patch);
  }
  return dnn;
}

struct Shape {
  int64_t M, in, out; // x [M, in], W [out, in]
};

struct Layout {
  const char *name;
  bool transA, transB;
  int64_t m, n, k; // of C = op(A) op(B)
};

std::vector<Layout> layoutsOf(const Shape &s) {
  return {{"fwd  x W^T", false, true, s.M, s.out, s.in},
          {"dX   dY W ", false, false, s.M, s.in, s.out},
          {"dW   dY^T x", true, false, s.out, s.in, s.M}};
}

struct Options {
  unsigned threads = 0;
  double minTime = 0.3;
  int rounds = 3;
  std::vector<Shape> shapes;
  bool oneDnn = true;
};

std::vector<Shape> defaultShapes() {
  return {// the tiny Llama (C 64, MLP 172, vocab 256) at B*T 2048 and 8192
          {2048, 64, 64},
          {2048, 64, 172},
          {2048, 172, 64},
          {8192, 64, 256},
          // Llama 3.2 1B (C 2048, MLP 8192) and Llama 2 7B (C 4096) at B*T 2048
          {2048, 2048, 2048},
          {2048, 2048, 8192},
          {2048, 4096, 4096}};
}

void addOptions(off::cli::Command &cmd, Options &o, bool &noOneDnn) {
  cmd.threads("--threads", o.threads, "threads, at most the CPUs this process may run\non (default: all of them)");
  cmd.option("--min-time", o.minTime, "S", "seconds each measurement runs at least\n(default 0.3)",
             off::cli::nonNegative);
  cmd.option("--rounds", o.rounds, "N", "rounds; the best is reported (default 3)",
             off::cli::positive);
  cmd.option("--shape", "MxINxOUT",
             "a Linear layer's shape, e.g. 2048x64x172\n(repeatable; default: the tiny "
             "Llama's, 1B's\nand 7B's)",
             [&o](const std::string &text) -> std::string {
               long long m, in, out;
               char rest;
               if (std::sscanf(text.c_str(), "%lldx%lldx%lld%c", &m, &in, &out, &rest) != 3 ||
                   m < 1 || in < 1 || out < 1)
                 return "wants MxINxOUT, e.g. 2048x64x172, got '" + text + "'";
               o.shapes.push_back({m, in, out});
               return "";
             },
             /*repeatable=*/true);
  cmd.flag("--no-onednn", noOneDnn, "skip oneDNN");
}

// Lets the other implementation's spinning worker threads go idle.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }

double maxRelDiff(const std::vector<float> &a, const std::vector<float> &b) {
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return scale > 0 ? worst / scale : worst;
}

int runGemmBench(const std::vector<std::string> &args) {
  Options o;
  bool noOneDnn = false;
  off::cli::Command cmd("offrt bench gemm", "[options]",
                        "sgemm at Llama Linear shapes (forward, dX, dW of each): ours (the CPU\n"
                        "backend's f32 path on our pool) vs OpenBLAS's own threads vs oneDNN.");
  addOptions(cmd, o, noOneDnn);
  return off::bench::runBenchmark(cmd, args, [&] {
    o.oneDnn = !noOneDnn;
    if (o.shapes.empty())
      o.shapes = defaultShapes();
    off::setDefaultThreadCount(o.threads);
    int threads = int(off::defaultThreadCount());
    OneDnn dnn = o.oneDnn ? loadOneDnn() : OneDnn{};
    if (dnn.sgemm && dnn.setThreads)
      dnn.setThreads(threads);
    std::printf("gemm: %d threads; BLAS %s; oneDNN %s\n", threads, off::cpu::blasDescription(),
                dnn.sgemm ? dnn.version.c_str() : "not found (libdnnl.so.2)");
    std::printf("%-18s %-12s %10s %12s %10s %12s %12s   %s\n", "M x in x out", "layout", "ours",
                "openblas-mt", "onednn", "ours/obl-mt", "ours/onednn",
                "bits again / with 1 thread");
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (const Shape &s : o.shapes) {
      for (const Layout &l : layoutsOf(s)) {
        std::vector<float> A(size_t(l.m * l.k)), B(size_t(l.k * l.n));
        for (float &x : A)
          x = dist(rng);
        for (float &x : B)
          x = dist(rng);
        int64_t lda = l.transA ? l.m : l.k, ldb = l.transB ? l.k : l.n;
        std::vector<float> C0(size_t(l.m * l.n)), C1(C0.size()), C2(C0.size());
        double flops = 2.0 * double(l.m) * double(l.n) * double(l.k);

        // Interleaved rounds, best of each: the machine is shared, and a
        // slow round says more about the neighbours than about the code.
        double ours = 1e30, openblas = 1e30, onednn = dnn.sgemm ? 1e30 : 0.0;
        for (int round = 0; round < o.rounds; ++round) {
          ours = std::min(ours, off::bench::secondsPerCall([&] {
            off::cpu::gemm(l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda, B.data(), ldb,
                           0.0f, C0.data(), l.n);
          }, o.minTime));
          settle();
          off::cpu::setBlasInternalThreads(threads);
          openblas = std::min(openblas, off::bench::secondsPerCall([&] {
            off::cpu::gemmSerial(l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda,
                                 B.data(), ldb, 0.0f, C1.data(), l.n);
          }, o.minTime));
          off::cpu::setBlasInternalThreads(1);
          settle();
          if (dnn.sgemm) {
            onednn = std::min(onednn, off::bench::secondsPerCall([&] {
              dnn.sgemm(l.transA ? 'T' : 'N', l.transB ? 'T' : 'N', l.m, l.n, l.k, 1.0f,
                        A.data(), lda, B.data(), ldb, 0.0f, C2.data(), l.n);
            }, o.minTime));
            settle();
          }
        }
        if (dnn.sgemm) {
          double diff = maxRelDiff(C2, C0);
          if (diff > 1e-4)
            std::fprintf(stderr, "warning: oneDNN and ours differ by %.2g (relative)\n", diff);
        }
        double diff = maxRelDiff(C1, C0);
        if (diff > 1e-4)
          std::fprintf(stderr, "warning: OpenBLAS-mt and ours differ by %.2g\n", diff);
        // Determinism: does another call with the same threads, and one with
        // one thread, give the bits of the timed runs?
        std::vector<float> single(C0.size());
        auto sameAs = [&](const std::vector<float> &c) {
          return std::memcmp(single.data(), c.data(), c.size() * sizeof(float)) == 0 ? '=' : 'x';
        };
        off::cpu::gemm(l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda, B.data(), ldb,
                       0.0f, single.data(), l.n);
        char oursAgain = sameAs(C0);
        off::cpu::setBlasInternalThreads(threads);
        off::cpu::gemmSerial(l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda, B.data(),
                             ldb, 0.0f, single.data(), l.n);
        off::cpu::setBlasInternalThreads(1);
        char openblasAgain = sameAs(C1);
        char onednnAgain = '-';
        if (dnn.sgemm) {
          dnn.sgemm(l.transA ? 'T' : 'N', l.transB ? 'T' : 'N', l.m, l.n, l.k, 1.0f, A.data(),
                    lda, B.data(), ldb, 0.0f, single.data(), l.n);
          onednnAgain = sameAs(C2);
        }
        off::setDefaultThreadCount(1);
        off::cpu::gemm(l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda, B.data(), ldb,
                       0.0f, single.data(), l.n);
        char oursSame = sameAs(C0);
        off::setDefaultThreadCount(unsigned(threads));
        off::cpu::gemmSerial(l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda, B.data(),
                             ldb, 0.0f, single.data(), l.n);
        char openblasSame = sameAs(C1);
        char onednnSame = '-';
        if (dnn.sgemm && dnn.setThreads) {
          dnn.setThreads(1);
          dnn.sgemm(l.transA ? 'T' : 'N', l.transB ? 'T' : 'N', l.m, l.n, l.k, 1.0f, A.data(),
                    lda, B.data(), ldb, 0.0f, single.data(), l.n);
          onednnSame = sameAs(C2);
          dnn.setThreads(threads);
        }
        char shape[64];
        std::snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)s.M, (long long)s.in,
                      (long long)s.out);
        std::printf("%-18s %-12s %10.1f %12.1f %10.1f %12.2f %12.2f   %c%c%c  %c%c%c\n", shape,
                    l.name, flops / ours * 1e-9, flops / openblas * 1e-9,
                    onednn > 0 ? flops / onednn * 1e-9 : 0.0, openblas / ours,
                    onednn > 0 ? onednn / ours : 0.0, oursAgain, openblasAgain, onednnAgain,
                    oursSame, openblasSame, onednnSame);
        std::fflush(stdout);
      }
    }
    return 0;
  });
}

off::bench::Registration registration{
    {"gemm", "sgemm at Llama Linear shapes: ours (our f32 path on our pool) vs OpenBLAS threads vs oneDNN",
     runGemmBench}};

} // namespace
