// `offrt bench cuda-copy`: PCIe bandwidth host <-> GPU, three ways in one run:
//   arena      the CUDA backend's copy on an h2d (d2h) stream between a pinned
//              host arena (cudaHostAlloc) and a device arena: what plans do
//   peak       cudaMemcpy between a cudaMallocHost buffer and cudaMalloc
//              memory: the driver's best for this size (the reference)
//   pageable   cudaMemcpy from malloc'ed memory (what unpinned arenas get)
// GB/s (10^9 bytes/s) each, best of --rounds, and arena / peak. Only in CUDA
// builds; needs a GPU.
#include "generated/OffBuildInfo.h"

#if OFF_CUDA_ENABLED
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "bench/BenchTiming.h"
#include "runtime/common/Json.h"
#include "runtime/cuda/CudaBackend.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using off::bench::BenchClock;
using off::bench::secondsSince;

struct Options {
  uint64_t size = 256ull << 20;
  int repeat = 10, rounds = 3;
  bool json = false;
};

void check(cudaError_t err, const char *what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// Best GB/s over rounds of `repeat` calls of `once` (which completes its copy).
double bestGBps(const Options &o, const std::function<void()> &once) {
  once(); // warm-up
  double best = 0.0;
  for (int r = 0; r < o.rounds; ++r) {
    auto start = BenchClock::now();
    for (int i = 0; i < o.repeat; ++i)
      once();
    double seconds = secondsSince(start);
    best = std::max(best, double(o.size) * o.repeat / seconds / 1e9);
  }
  return best;
}

int runCudaCopyBench(const std::vector<std::string> &args) {
  Options o;
  off::cli::Command cmd("offrt bench cuda-copy", "[options]",
                        "PCIe GB/s host <-> GPU: the CUDA backend's copies from a pinned host\n"
                        "arena vs cudaMemcpy from cudaMallocHost memory (peak) and from\n"
                        "pageable memory, in one run.");
  cmd.size("--size", o.size, "bytes per copy (default 256M)");
  cmd.option("--repeat", o.repeat, "N", "copies per timed round (default 10)");
  cmd.option("--rounds", o.rounds, "N", "rounds; the best is reported (default 3)");
  cmd.flag("--json", o.json, "one JSON object on stdout");
  return off::bench::runBenchmark(cmd, args, [&] {
    std::string why;
    if (!off::cuda::cudaUsable(&why))
      throw std::runtime_error("needs a GPU: " + why);
    off::backend::Backend *gpu = off::cuda::cudaBackendIfUsable();
    off::backend::ArenaRequest hostReq, devReq;
    hostReq.label = "arena 'bench host'";
    hostReq.tier = off::Tier::Host;
    hostReq.size = o.size;
    hostReq.pinned = true;
    devReq.label = "arena 'bench device'";
    devReq.size = o.size;
    auto host = gpu->allocateArena(hostReq);
    auto dev = gpu->allocateArena(devReq);
    std::memset(host->data(), 1, o.size);
    auto h2d = gpu->createStream(off::StreamKind::H2D, "h2d");
    auto d2h = gpu->createStream(off::StreamKind::D2H, "d2h");
    double arenaH2D = bestGBps(o, [&] {
      gpu->copy(*h2d, dev->data(), host->data(), o.size);
      gpu->synchronize(*h2d);
    });
    double arenaD2H = bestGBps(o, [&] {
      gpu->copy(*d2h, host->data(), dev->data(), o.size);
      gpu->synchronize(*d2h);
    });
    void *pinned = nullptr;
    check(cudaMallocHost(&pinned, o.size), "cudaMallocHost");
    std::memset(pinned, 1, o.size);
    double peakH2D = bestGBps(o, [&] {
      check(cudaMemcpy(dev->data(), pinned, o.size, cudaMemcpyHostToDevice), "cudaMemcpy");
    });
    double peakD2H = bestGBps(o, [&] {
      check(cudaMemcpy(pinned, dev->data(), o.size, cudaMemcpyDeviceToHost), "cudaMemcpy");
    });
    cudaFreeHost(pinned);
    std::unique_ptr<char[]> pageable(new char[o.size]);
    std::memset(pageable.get(), 1, o.size);
    double pageH2D = bestGBps(o, [&] {
      check(cudaMemcpy(dev->data(), pageable.get(), o.size, cudaMemcpyHostToDevice), "cudaMemcpy");
    });
    double pageD2H = bestGBps(o, [&] {
      check(cudaMemcpy(pageable.get(), dev->data(), o.size, cudaMemcpyDeviceToHost), "cudaMemcpy");
    });
    if (o.json) {
      nlohmann::ordered_json j;
      j["bench"] = "cuda-copy";
      j["bytes"] = o.size;
      j["h2d_arena_GBps"] = arenaH2D;
      j["h2d_peak_GBps"] = peakH2D;
      j["h2d_pageable_GBps"] = pageH2D;
      j["d2h_arena_GBps"] = arenaD2H;
      j["d2h_peak_GBps"] = peakD2H;
      j["d2h_pageable_GBps"] = pageD2H;
      j["host_arena_pinned"] = host->pinned();
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("cuda-copy: %llu bytes per copy, best of %d rounds of %d; host arena %s\n",
                  (unsigned long long)o.size, o.rounds, o.repeat,
                  host->pinned() ? "pinned" : "NOT pinned");
      std::printf("%-5s %12s %12s %12s %12s\n", "dir", "arena GB/s", "peak GB/s",
                  "pageable", "arena/peak");
      std::printf("%-5s %12.2f %12.2f %12.2f %12.3f\n", "h2d", arenaH2D, peakH2D, pageH2D,
                  arenaH2D / peakH2D);
      std::printf("%-5s %12.2f %12.2f %12.2f %12.3f\n", "d2h", arenaD2H, peakD2H, pageD2H,
                  arenaD2H / peakD2H);
    }
    return 0;
  });
}

off::bench::Registration registration{
    {"cuda-copy", "PCIe GB/s host <-> GPU: backend copies from the pinned arena vs cudaMemcpy peak",
     runCudaCopyBench}};

} // namespace
#endif // OFF_CUDA_ENABLED
