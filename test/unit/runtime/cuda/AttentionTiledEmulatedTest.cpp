// The tiled attention kernels (runtime/cuda/AttentionTiledKernels.cuh)
// compiled for the host and run under an emulated CUDA block, against the
// CPU backend. Needs no GPU: it checks what a GPU run could only show as
// wrong numbers or a crash (index math, causal masking with S != T, the GQA
// head mapping, tile edges, the stash of L and Delta in grad_query, shared
// memory bounds) here, in ctest's cuda_kernel_table. The device itself (its
// expf, its scheduling) is checked by CudaAttentionTest on a GPU.
//
// Emulation: each block's 256 threads are std::threads that meet at a
// std::barrier for __syncthreads and __shfl_xor_sync (every call site in the
// kernels is reached by the whole block); blocks run one after another.
// Shared memory and every tensor end at a PROT_NONE page, so a read or write
// past the end faults; shared memory is NaN at the start of every block and
// outputs are NaN before the launch, so a slot read before any thread wrote
// it, or an output element no thread wrote, fails the comparison.
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaKernels.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

namespace emu {
struct Index {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local Index threadIndex;
inline Index blockIndex;
inline std::barrier<> *blockBarrier = nullptr;
inline float exchange[256];
} // namespace emu

// CUDA's spellings, for the host (cuda_runtime_api.h defined some of them).
#undef __global__
#undef __device__
#undef __host__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __launch_bounds__(n)
#define threadIdx (::emu::threadIndex)
#define blockIdx (::emu::blockIndex)

inline void __syncthreads() { emu::blockBarrier->arrive_and_wait(); }

inline float __shfl_xor_sync(unsigned, float v, int laneMask) {
  unsigned t = emu::threadIndex.x;
  emu::exchange[t] = v;
  emu::blockBarrier->arrive_and_wait();
  float other = emu::exchange[t ^ unsigned(laneMask)];
  emu::blockBarrier->arrive_and_wait();
  return other;
}

namespace off::cuda::tiled {
inline float *emulatedShared = nullptr;
inline float *sharedFloats() { return emulatedShared; }
} // namespace off::cuda::tiled

#include "runtime/cuda/AttentionTiledKernels.cuh"

namespace off::test {
namespace {

using cuda::AttentionShape;
namespace tiled = cuda::tiled;

// n floats ending where a PROT_NONE page begins.
class Guarded {
public:
  explicit Guarded(int64_t n) {
    size_t page = size_t(sysconf(_SC_PAGESIZE)), bytes = size_t(n) * sizeof(float);
    size_t pages = (bytes + page - 1) / page;
    mapped_ = (pages + 1) * page;
    void *p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error("mmap failed");
    base_ = static_cast<char *>(p);
    if (mprotect(base_ + pages * page, page, PROT_NONE) != 0)
      throw std::runtime_error("mprotect failed");
    data_ = reinterpret_cast<float *>(base_ + pages * page - bytes);
    size_ = n;
  }
  ~Guarded() { munmap(base_, mapped_); }
  Guarded(const Guarded &) = delete;
  Guarded &operator=(const Guarded &) = delete;
  float *data() { return data_; }
  int64_t size() const { return size_; }

private:
  char *base_ = nullptr;
  size_t mapped_ = 0;
  float *data_ = nullptr;
  int64_t size_ = 0;
};

template <class Kernel, class... Args>
void launch(Kernel kernel, int64_t blocks, int sharedCount, Args... args) {
  Guarded shared(sharedCount);
  std::barrier<> barrier(tiled::kTiledThreads);
  emu::blockBarrier = &barrier;
  tiled::emulatedShared = shared.data();
  for (int64_t b = 0; b < blocks; ++b) {
    std::fill(shared.data(), shared.data() + sharedCount, NAN);
    emu::blockIndex.x = unsigned(b);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < unsigned(tiled::kTiledThreads); ++t)
      threads.emplace_back([&, t] {
        emu::threadIndex.x = t;
        kernel(args...);
      });
    for (std::thread &t : threads)
      t.join();
  }
}

int64_t tilesOf(int64_t n, int tile) { return (n + tile - 1) / tile; }

// The launch side of AttentionTiled.cu (grids, layouts, the stash order).
template <class C>
void forward(const float *q, const float *k, const float *v, float *o, const AttentionShape &a) {
  int64_t tiles = tilesOf(a.T, C::FQ);
  launch(tiled::forwardTiled<C::FQ, C::FK, C::DM, false>, a.B * a.Hq * tiles,
         tiled::ForwardLayout(C::FQ, C::FK, int(a.D), int(a.Dv)).total, q, k, v,
         static_cast<const float *>(nullptr), o, a, tiles);
}

template <class C>
void backward(const float *q, const float *k, const float *v, const float *dout, float *dq,
              float *dk, float *dv, const AttentionShape &a) {
  int64_t fTiles = tilesOf(a.T, C::FQ), kTiles = tilesOf(a.S, C::KK),
          qTiles = tilesOf(a.T, C::QQ);
  launch(tiled::forwardTiled<C::FQ, C::FK, C::DM, true>, a.B * a.Hq * fTiles,
         tiled::ForwardLayout(C::FQ, C::FK, int(a.D), int(a.Dv)).total, q, k, v, dout, dq, a,
         fTiles);
  launch(tiled::keyGradTiled<C::KQ, C::KK, C::DM>, a.B * a.Hkv * kTiles,
         tiled::GradLayout(C::KQ, C::KK, int(a.D), int(a.Dv), true).total, q, k, v, dout,
         static_cast<const float *>(dq), dk, dv, a, kTiles);
  launch(tiled::queryGradTiled<C::QQ, C::QK, C::DM>, a.B * a.Hq * qTiles,
         tiled::GradLayout(C::QQ, C::QK, int(a.D), int(a.Dv), false).total, q, k, v, dout, dq,
         a, qTiles);
}

struct Dims {
  int64_t B, Hq, Hkv, T, S, D, Dv;
  bool causal;
};

std::string name(const Dims &d) {
  return "B" + std::to_string(d.B) + "_H" + std::to_string(d.Hq) + "_" + std::to_string(d.Hkv) +
         "_T" + std::to_string(d.T) + "_S" + std::to_string(d.S) + "_D" + std::to_string(d.D) +
         "_" + std::to_string(d.Dv) + (d.causal ? "_causal" : "_full");
}

void guardedCopy(const HostTensor &t, Guarded &g) {
  std::memcpy(g.data(), t.f32(), size_t(t.numel()) * sizeof(float));
}

// Relative to the reference's largest element, or to this where that is
// smaller: with one key (T = S = 1) the gradients of q and k are exactly 0
// and both sides hold only rounding residue of dP - Delta.
constexpr double kFloor = 1e-3;

// Forward and backward against the CPU backend (relative 1e-4, the
// CUDA-vs-CPU bound for attention), through both head-dim classes.
void checkShape(const Dims &d) {
  SCOPED_TRACE(name(d));
  std::mt19937 rng(77);
  Shape qs{d.B, d.Hq, d.T, d.D}, ks{d.B, d.Hkv, d.S, d.D}, vs{d.B, d.Hkv, d.S, d.Dv},
      os{d.B, d.Hq, d.T, d.Dv};
  HostTensor q = randomF32(qs, rng, -2, 2), k = randomF32(ks, rng, -2, 2),
             v = randomF32(vs, rng), g = randomF32(os, rng);
  backend::KernelAttrs attrs{{"causal", d.causal}};
  std::vector<HostTensor> wantF = runOp(cpu::cpuBackend(), "attention", {q, k, v}, {{os}}, attrs);
  std::vector<HostTensor> wantB = runOp(cpu::cpuBackend(), "attention_grad", {q, k, v, g},
                                        {{qs}, {ks}, {vs}}, attrs);

  AttentionShape a{d.B, d.Hq, d.Hkv, d.T, d.S, d.D, d.Dv, d.causal,
                   float(1.0 / std::sqrt(double(d.D)))};
  Guarded gq(q.numel()), gk(k.numel()), gv(v.numel()), gg(g.numel());
  guardedCopy(q, gq);
  guardedCopy(k, gk);
  guardedCopy(v, gv);
  guardedCopy(g, gg);
  Guarded go(wantF[0].numel()), gdq(q.numel()), gdk(k.numel()), gdv(v.numel());
  for (Guarded *out : {&go, &gdq, &gdk, &gdv})
    std::fill(out->data(), out->data() + out->size(), NAN);
  bool small = std::max(d.D, d.Dv) <= tiled::Small::DM;
  if (small) {
    forward<tiled::Small>(gq.data(), gk.data(), gv.data(), go.data(), a);
    backward<tiled::Small>(gq.data(), gk.data(), gv.data(), gg.data(), gdq.data(), gdk.data(),
                           gdv.data(), a);
  } else {
    forward<tiled::Large>(gq.data(), gk.data(), gv.data(), go.data(), a);
    backward<tiled::Large>(gq.data(), gk.data(), gv.data(), gg.data(), gdq.data(), gdk.data(),
                           gdv.data(), a);
  }
  auto check = [](Guarded &got, const HostTensor &want, const char *what) {
    HostTensor t(want.shape, DType::F32);
    std::memcpy(t.f32(), got.data(), size_t(got.size()) * sizeof(float));
    EXPECT_LE(relativeError(t, want.toDouble(), kFloor), 1e-4) << what;
  };
  check(go, wantF[0], "output");
  check(gdq, wantB[0], "grad_query");
  check(gdk, wantB[1], "grad_key");
  check(gdv, wantB[2], "grad_value");

  // The forward on bf16 storage against the CPU's bf16 attention (f32
  // arithmetic on the exact inputs, rounded once): the two f32 results
  // differ in the last bits, so a few elements may round one bf16 step apart.
  HostTensor qb = randomBf16(qs, rng, -2, 2), kb = randomBf16(ks, rng, -2, 2),
             vb = randomBf16(vs, rng);
  HostTensor want = runOp(cpu::cpuBackend(), "attention", {qb, kb, vb}, {{os, DType::BF16}},
                          attrs)[0];
  std::vector<uint16_t> got(size_t(want.numel()), 0xffff);
  int64_t tiles = (d.T + tiled::Small::FQ - 1) / tiled::Small::FQ;
  auto bits = [](const HostTensor &t) { return t.as<uint16_t>(); };
  if (small)
    launch(tiled::forwardTiled<tiled::Small::FQ, tiled::Small::FK, tiled::Small::DM, false,
                               uint16_t>,
           d.B * d.Hq * tiles,
           tiled::ForwardLayout(tiled::Small::FQ, tiled::Small::FK, int(d.D), int(d.Dv)).total,
           bits(qb), bits(kb), bits(vb), static_cast<const float *>(nullptr), got.data(), a,
           tiles);
  else
    launch(tiled::forwardTiled<tiled::Large::FQ, tiled::Large::FK, tiled::Large::DM, false,
                               uint16_t>,
           d.B * d.Hq * tiles,
           tiled::ForwardLayout(tiled::Large::FQ, tiled::Large::FK, int(d.D), int(d.Dv)).total,
           bits(qb), bits(kb), bits(vb), static_cast<const float *>(nullptr), got.data(), a,
           tiles);
  HostTensor gotT(want.shape, DType::BF16);
  std::memcpy(gotT.as<uint16_t>(), got.data(), got.size() * sizeof(uint16_t));
  std::vector<double> g64 = asDouble(gotT), w64 = asDouble(want);
  EXPECT_LE(relativeError(g64, w64, kFloor), 1.0 / 128) << "bf16 output";
  int64_t apart = 0;
  for (size_t i = 0; i < g64.size(); ++i)
    apart += g64[i] != w64[i];
  EXPECT_LE(apart, std::max<int64_t>(1, int64_t(g64.size()) / 100)) << "bf16 output elements "
                                                                       "rounded apart";
}

// T = 1, 7, 33, 65, 130; S != T (causal: query t sees keys up to t + S - T);
// Hq / Hkv = 1 and 4; D = 2, 17, 64, 128 and Dv != D; both tile classes
// (max(D, Dv) <= 64 and <= 128) and several tiles of queries and keys. In
// the no-GPU suite (CudaKernelTable), so ctest runs it on every machine.
TEST(CudaKernelTable, TiledAttentionOnAnEmulatedBlockMatchesTheCpuBackend) {
  for (const Dims &d : {Dims{1, 1, 1, 1, 1, 2, 2, true}, Dims{2, 4, 1, 7, 7, 17, 17, true},
                        Dims{1, 4, 4, 33, 40, 64, 64, true}, Dims{1, 4, 1, 65, 65, 128, 128, true},
                        Dims{1, 2, 2, 130, 131, 64, 64, true},
                        Dims{1, 2, 1, 130, 200, 17, 33, false},
                        Dims{1, 1, 1, 70, 97, 128, 64, true}, Dims{1, 1, 1, 33, 5, 64, 64, false},
                        Dims{1, 1, 1, 130, 130, 2, 128, true}})
    checkShape(d);
}

} // namespace
} // namespace off::test
