// `offrt bench gemm-bf16`: bf16 and f32 products (GemmBf16.h, Gemm.h) at the
// shapes of a Llama's Linear layers (forward y = x W^T, input gradient dY W,
// weight gradient dY^T x), each way the CPU backend can compute them, in one
// run:
//   bf16 own     gemmBf16 on our AVX512_BF16 kernel (GemmOwn.h)
//   onednn       gemmBf16 on oneDNN's matmul (where it has a native bf16 kernel)
//   fallback     gemmBf16 widening panels to fp32 for OpenBLAS's sgemm
//   f32 own      gemm on our AVX-512F kernel
//   onednn       gemm on oneDNN's f32 matmul
//   openblas     gemm on OpenBLAS (single-threaded per block, our blocks)
// GFLOP/s each (best of --rounds interleaved rounds; 0: not on this CPU) and
// time(onednn) / time(own) for each precision, the figure the default path
// is chosen by (docs/blas.md). All on our pool with --threads threads, bf16
// or f32 C.
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "bench/BenchTiming.h"
#include "runtime/common/Float16.h"
#include "runtime/common/Parallel.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/GemmBf16.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

using off::cpu::Bf16GemmPath;

struct Shape {
  int64_t M, in, out; // x [M, in], W [out, in]
};

struct Layout {
  const char *name;
  bool transA, transB;
  int64_t m, n, k;
};

std::vector<Layout> layoutsOf(const Shape &s) {
  return {{"fwd  x W^T", false, true, s.M, s.out, s.in},
          {"dX   dY W ", false, false, s.M, s.in, s.out},
          {"dW   dY^T x", true, false, s.out, s.in, s.M}};
}

int runGemmBf16Bench(const std::vector<std::string> &args) {
  unsigned threads = 0;
  double minTime = 0.3;
  int rounds = 3;
  std::vector<Shape> shapes;
  off::cli::Command cmd("offrt bench gemm-bf16", "[options]",
                        "bf16 and f32 products at Llama Linear shapes (forward, dX, dW of each):\n"
                        "our kernels vs oneDNN's matmul (and the bf16 fallback), on our pool.");
  cmd.threads("--threads", threads, "threads, at most the CPUs this process may run\non (default: all of them)");
  cmd.option("--min-time", minTime, "S", "seconds each measurement runs at least\n(default 0.3)",
             off::cli::nonNegative);
  cmd.option("--rounds", rounds, "N", "rounds; the best is reported (default 3)",
             off::cli::positive);
  cmd.option("--shape", "MxINxOUT",
             "a Linear layer's shape, e.g. 1024x512x1376\n(repeatable; default: the 43M "
             "bench model's\nand a 300M model's)",
             [&shapes](const std::string &text) -> std::string {
               long long m, in, out;
               char rest;
               if (std::sscanf(text.c_str(), "%lldx%lldx%lld%c", &m, &in, &out, &rest) != 3 ||
                   m < 1 || in < 1 || out < 1)
                 return "wants MxINxOUT, e.g. 1024x512x1376, got '" + text + "'";
               shapes.push_back({m, in, out});
               return "";
             },
             /*repeatable=*/true);
  return off::bench::runBenchmark(cmd, args, [&] {
    if (shapes.empty()) // bench/llama-43m.json and bench/llama-300m.json at B*T 1024
      shapes = {{1024, 512, 512},  {1024, 512, 128},  {1024, 512, 1376}, {1024, 1376, 512},
                {1024, 1024, 1024}, {1024, 1024, 2816}, {1024, 2816, 1024}, {1024, 1024, 32000}};
    off::setDefaultThreadCount(threads);
    bool haveOneDnn = !off::cpu::bf16GemmOneDnnKernel().empty();
    std::printf("gemm-bf16: %u threads; default path: %s\n", off::defaultThreadCount(),
                off::cpu::bf16GemmDescription().c_str());
    const bool haveOwnBf16 = off::cpu::bf16GemmHaveOwn();
    const bool haveF32OneDnn = off::cpu::f32GemmOneDnnAvailable();
    const bool haveOwnF32 = off::cpu::f32GemmHaveOwn();
    std::printf("f32 default path: %s\n", off::cpu::f32GemmDescription().c_str());
    std::printf("GFLOP/s (best of %d interleaved rounds); own/onednn = time(onednn) / time(own), "
                "> 1: ours faster\n",
                rounds);
    std::printf("%-18s %-12s %9s %9s %9s %11s %9s %9s %9s %11s %11s\n", "M x in x out",
                "layout", "bf16 own", "onednn", "fallback", "own/onednn", "f32 own", "onednn",
                "openblas", "own/onednn", "own/openbl");
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    // Sums of the best times over every row, per column: the whole set of
    // shapes as one step would run them.
    double total[6] = {0, 0, 0, 0, 0, 0};
    for (const Shape &s : shapes)
      for (const Layout &l : layoutsOf(s)) {
        std::vector<float> A(size_t(l.m * l.k)), B(size_t(l.k * l.n)), C(size_t(l.m * l.n));
        std::vector<uint16_t> Ab(A.size()), Bb(B.size()), Cb(C.size());
        for (size_t i = 0; i < A.size(); ++i)
          Ab[i] = off::floatToBf16(A[i] = dist(rng));
        for (size_t i = 0; i < B.size(); ++i)
          Bb[i] = off::floatToBf16(B[i] = dist(rng));
        int64_t lda = l.transA ? l.m : l.k, ldb = l.transB ? l.k : l.n;
        double flops = 2.0 * double(l.m) * double(l.n) * double(l.k);
        auto bf16 = [&](Bf16GemmPath path) {
          return off::bench::secondsPerCall([&] {
            off::cpu::gemmBf16On(path, l.transA, l.transB, l.m, l.n, l.k, Ab.data(), lda,
                                 Bb.data(), ldb, Cb.data(), off::DType::BF16, l.n);
          }, minTime);
        };
        auto f32 = [&](off::cpu::F32GemmPath path) {
          return off::bench::secondsPerCall([&] {
            off::cpu::gemmOn(path, l.transA, l.transB, l.m, l.n, l.k, 1.0f, A.data(), lda,
                             B.data(), ldb, 0.0f, C.data(), l.n);
          }, minTime);
        };
        double own = 0, onednn = 0, fallback = 1e30, f32Own = 0, f32OneDnn = 0,
               f32OpenBlas = 1e30;
        auto best = [](double &slot, double seconds) {
          slot = slot == 0 ? seconds : std::min(slot, seconds);
        };
        for (int round = 0; round < rounds; ++round) {
          if (haveOwnBf16)
            best(own, bf16(Bf16GemmPath::Own));
          if (haveOneDnn)
            best(onednn, bf16(Bf16GemmPath::OneDnn));
          fallback = std::min(fallback, bf16(Bf16GemmPath::Fallback));
          if (haveOwnF32)
            best(f32Own, f32(off::cpu::F32GemmPath::Own));
          if (haveF32OneDnn)
            best(f32OneDnn, f32(off::cpu::F32GemmPath::OneDnn));
          f32OpenBlas = std::min(f32OpenBlas, f32(off::cpu::F32GemmPath::OpenBlas));
        }
        const double times[6] = {own, onednn, fallback, f32Own, f32OneDnn, f32OpenBlas};
        for (int column = 0; column < 6; ++column)
          total[column] += times[column];
        auto rate = [&](double seconds) { return seconds > 0 ? flops / seconds * 1e-9 : 0.0; };
        auto ratio = [](double ours, double theirs) {
          return ours > 0 && theirs > 0 ? theirs / ours : 0.0;
        };
        char shape[64];
        std::snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)s.M, (long long)s.in,
                      (long long)s.out);
        std::printf("%-18s %-12s %9.1f %9.1f %9.1f %10.2fx %9.1f %9.1f %9.1f %10.2fx %10.2fx\n",
                    shape, l.name, rate(own), rate(onednn), rate(fallback), ratio(own, onednn),
                    rate(f32Own), rate(f32OneDnn), rate(f32OpenBlas), ratio(f32Own, f32OneDnn),
                    ratio(f32Own, f32OpenBlas));
        std::fflush(stdout);
      }
    auto ratio = [](double ours, double theirs) {
      return ours > 0 && theirs > 0 ? theirs / ours : 0.0;
    };
    std::printf("all rows: bf16 own/onednn %.2fx, f32 own/onednn %.2fx, f32 own/openblas %.2fx "
                "(sums of the best times)\n",
                ratio(total[0], total[1]), ratio(total[3], total[4]), ratio(total[3], total[5]));
    return 0;
  });
}

off::bench::Registration registration{
    {"gemm-bf16", "bf16 products (and f32 ones) at Llama Linear shapes: ours vs oneDNN's matmul",
     runGemmBf16Bench}};

} // namespace
