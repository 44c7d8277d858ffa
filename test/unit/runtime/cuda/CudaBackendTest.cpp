// The CUDA backend's memory, streams and events (needs a GPU), and its
// kernel table's shape (needs none: CudaKernelTable.*).
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaBackend.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>

namespace off::test {
namespace {

// Validation is the CPU table's plus the dtypes the CUDA kernels take
// (CudaBf16ValidationTest.cpp).
TEST(CudaKernelTable, HasEveryOpOfTheCpuTable) {
  const backend::KernelTable &cuda = cuda::cudaKernels(), &cpu = cpu::cpuKernels();
  EXPECT_EQ(cuda.ops(), cpu.ops());
  for (const std::string &op : cpu.ops()) {
    const backend::KernelEntry *entry = cuda.find(op);
    ASSERT_NE(entry, nullptr) << op;
    EXPECT_NE(entry->validate, nullptr) << op;
    EXPECT_NE(entry->run, cpu.get(op).run) << op << ": runs the CPU kernel";
  }
}

TEST(CudaKernelTable, RefusesWhatTheCpuTableRefuses) {
  std::vector<backend::TensorArg> in{{nullptr, {4, 8}}, {nullptr, {7}}}, out{{nullptr, {4, 8}}};
  EXPECT_THROW(backend::BoundKernel(cuda::cudaKernels(), "rms_norm", in, out, {{"eps", 1e-5}}),
               std::invalid_argument);
}

backend::Backend &gpu() { return *cuda::cudaBackendIfUsable(); }

TEST(CudaBackend, DeviceArenaIsOneAllocationWithinTheBudget) {
  backend::ArenaRequest request;
  request.label = "arena 'dev'";
  request.size = 3 << 20;
  request.budget = 4 << 20;
  auto arena = gpu().allocateArena(request);
  EXPECT_FALSE(arena->hostAccessible());
  EXPECT_EQ(gpu().usage(Tier::Device).current, uint64_t(3 << 20));
  request.label = "arena 'over'";
  request.size = 2 << 20;
  EXPECT_THROW(gpu().allocateArena(request), std::runtime_error);
  arena.reset();
  EXPECT_EQ(gpu().usage(Tier::Device).current, 0u);
}

TEST(CudaBackend, PinnedHostArenaCountsInTheHostBudget) {
  backend::ArenaRequest request;
  request.label = "arena 'host'";
  request.tier = Tier::Host;
  request.size = 1 << 20;
  request.pinned = true;
  auto arena = gpu().allocateArena(request);
  EXPECT_TRUE(arena->hostAccessible());
  EXPECT_TRUE(arena->pinned());
  EXPECT_EQ(gpu().usage(Tier::Host).current, uint64_t(1 << 20));
}

// Copies host -> device on an h2d stream, a kernel on the compute stream
// after an event, device -> host on a d2h stream after another: the result
// is right only if the events order the streams.
TEST(CudaBackend, EventsOrderCopiesAndKernelsAcrossStreams) {
  constexpr int64_t n = 1 << 20;
  backend::ArenaRequest host;
  host.label = "arena 'host'";
  host.tier = Tier::Host;
  host.size = 2 * n * sizeof(float);
  host.pinned = true;
  backend::ArenaRequest dev;
  dev.label = "arena 'dev'";
  dev.size = 2 * n * sizeof(float);
  auto h = gpu().allocateArena(host);
  auto d = gpu().allocateArena(dev);
  float *hx = reinterpret_cast<float *>(h->data()), *hy = hx + n;
  float *dx = reinterpret_cast<float *>(d->data()), *dy = dx + n;
  for (int64_t i = 0; i < n; ++i)
    hx[i] = float(i % 1000) - 500.0f;
  auto h2d = gpu().createStream(StreamKind::H2D, "h2d");
  auto compute = gpu().createStream(StreamKind::Compute, "compute");
  auto d2h = gpu().createStream(StreamKind::D2H, "d2h");
  auto in = gpu().createEvent(), done = gpu().createEvent();
  backend::BoundKernel neg(gpu().kernels(StreamKind::Compute), "neg", {{nullptr, {n}}},
                           {{nullptr, {n}}});
  gpu().copy(*h2d, dx, hx, n * sizeof(float));
  gpu().record(*h2d, *in);
  gpu().wait(*compute, *in);
  void *args[] = {dx, dy};
  gpu().launch(*compute, neg, std::span<void *const>(args, 1), std::span<void *const>(args + 1, 1),
               {}, backend::StepContext{});
  gpu().record(*compute, *done);
  gpu().wait(*d2h, *done);
  gpu().copy(*d2h, hy, dy, n * sizeof(float));
  gpu().synchronize(*d2h);
  for (int64_t i = 0; i < n; i += 4099)
    ASSERT_EQ(hy[i], -hx[i]) << i;
}

TEST(CudaBackend, AnIdOutsideTheVocabularyIsAnErrorNamingIt) {
  std::mt19937 rng(1);
  std::vector<HostTensor> in{randomF32({11, 6}, rng), indexTensor({3}, {2, 11, 4}, DType::I32)};
  try {
    runOp(gpu(), "embedding", in, {{{3, 6}}});
    FAIL() << "no error";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("embedding: id 11 at position 1"), std::string::npos)
        << e.what();
  }
  // The record is cleared: the next call runs.
  in[1] = indexTensor({3}, {2, 10, 4}, DType::I32);
  EXPECT_NO_THROW(runOp(gpu(), "embedding", in, {{{3, 6}}}));
}

TEST(CudaBackend, AGatherIndexOutsideIsAnErrorNamingIt) {
  std::mt19937 rng(2);
  std::vector<HostTensor> in{randomF32({6, 2}, rng), indexTensor({2}, {1, -7}, DType::I64)};
  try {
    runOp(gpu(), "gather", in, {{{2, 2}}}, {{"axis", int64_t(0)}});
    FAIL() << "no error";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("gather: index -7 at position 1 is outside [-6, 6)"),
              std::string::npos)
        << e.what();
  }
}

} // namespace
} // namespace off::test
