// Attention on the GPU, both kernel families (runtime/cuda/AttentionTiled.cu
// and the row-wise Attention.cu), against the CPU backend over odd shapes:
// T = 1, 7, 33, 65, 130; S != T with the causal offset; Hq / Hkv = 1, 4;
// D = 2, 17, 64, 128 and Dv != D. Relative 1e-4 (the f32 bound for long
// sums; the bf16 forward within a bf16 step), twice bit-identical. The no-GPU part checks the OFF_CUDA_ATTENTION
// knob; the timing case prints milliseconds and never asserts on time.
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaBackend.h"
#include "runtime/cuda/CudaKernels.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <span>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::test {
namespace {

using cuda::AttentionShape;

// Sets (or, with nullptr, unsets) an environment variable for a scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_ ? old_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
  void set(const char *value) {
    if (value)
      setenv(name_.c_str(), value, 1);
    else
      unsetenv(name_.c_str());
  }
  std::string name_;
  std::optional<std::string> old_;
};

AttentionShape shape(int64_t D, int64_t Dv) {
  return AttentionShape{1, 4, 1, 33, 40, D, Dv, true, 0.125f};
}

// No GPU needed: which kernels a shape gets, and the knob's errors.
TEST(CudaKernelTable, AttentionPathFollowsHeadDimsAndTheKnob) {
  {
    ScopedEnv env("OFF_CUDA_ATTENTION", nullptr); // until the tiled kernels pass on a GPU
    EXPECT_STREQ(cuda::attentionPath(shape(64, 64)), "rowwise");
  }
  {
    ScopedEnv env("OFF_CUDA_ATTENTION", "auto");
    EXPECT_STREQ(cuda::attentionPath(shape(17, 17)), "tiled");
    EXPECT_STREQ(cuda::attentionPath(shape(64, 64)), "tiled");
    EXPECT_STREQ(cuda::attentionPath(shape(2, 128)), "tiled");
    EXPECT_STREQ(cuda::attentionPath(shape(129, 64)), "rowwise");
    EXPECT_STREQ(cuda::attentionPath(shape(64, 160)), "rowwise");
  }
  {
    ScopedEnv env("OFF_CUDA_ATTENTION", "rowwise");
    EXPECT_STREQ(cuda::attentionPath(shape(64, 64)), "rowwise");
  }
  {
    ScopedEnv env("OFF_CUDA_ATTENTION", "tiled");
    EXPECT_STREQ(cuda::attentionPath(shape(64, 64)), "tiled");
    try {
      cuda::attentionPath(shape(160, 64));
      ADD_FAILURE() << "OFF_CUDA_ATTENTION=tiled accepted D = 160";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("OFF_CUDA_ATTENTION=tiled"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("160"), std::string::npos) << e.what();
    }
  }
  {
    ScopedEnv env("OFF_CUDA_ATTENTION", "fast");
    try {
      cuda::attentionPath(shape(64, 64));
      ADD_FAILURE() << "OFF_CUDA_ATTENTION=fast accepted";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("OFF_CUDA_ATTENTION"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("'fast'"), std::string::npos) << e.what();
    }
  }
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

// With one key (T = S = 1) the gradients of q and k are exactly 0 and both
// sides hold only rounding residue: errors are relative to the reference's
// largest element or to this floor, whichever is larger.
constexpr double kFloor = 1e-3;

class CudaAttention : public ::testing::TestWithParam<Dims> {};

void compareBothPaths(const Dims &d, const char *path) {
  ScopedEnv env("OFF_CUDA_ATTENTION", path);
  std::mt19937 rng(91);
  Shape qs{d.B, d.Hq, d.T, d.D}, ks{d.B, d.Hkv, d.S, d.D}, vs{d.B, d.Hkv, d.S, d.Dv},
      os{d.B, d.Hq, d.T, d.Dv};
  std::vector<HostTensor> in{randomF32(qs, rng, -2, 2), randomF32(ks, rng, -2, 2),
                             randomF32(vs, rng), randomF32(os, rng)};
  std::vector<HostTensor> fwdIn(in.begin(), in.begin() + 3);
  backend::KernelAttrs attrs{{"causal", d.causal}};
  AttentionShape a{d.B, d.Hq, d.Hkv, d.T, d.S, d.D, d.Dv, d.causal, 1.0f};
  EXPECT_STREQ(cuda::attentionPath(a), path);
  backend::Backend &gpu = *cuda::cudaBackendIfUsable();
  struct Op {
    const char *op;
    std::vector<HostTensor> inputs;
    std::vector<OutSpec> outputs;
  };
  for (const Op &op : {Op{"attention", fwdIn, {{os}}},
                       Op{"attention_grad", in, {{qs}, {ks}, {vs}}}}) {
    std::vector<HostTensor> want = runOp(cpu::cpuBackend(), op.op, op.inputs, op.outputs, attrs);
    std::vector<HostTensor> got = runOp(gpu, op.op, op.inputs, op.outputs, attrs);
    std::vector<HostTensor> again = runOp(gpu, op.op, op.inputs, op.outputs, attrs);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_LE(relativeError(got[i], want[i].toDouble(), kFloor), 1e-4)
          << path << " " << op.op << ": output " << i;
      EXPECT_TRUE(sameBits(got[i], again[i]))
          << path << " " << op.op << ": output " << i << " not deterministic";
    }
  }
}

// The forward on bf16 storage: the CPU rounds its f32 result once, so do
// both kernel families; the f32 results differ in the last bits, so a few
// elements may round one bf16 step apart.
void compareBf16Forward(const Dims &d, const char *path) {
  ScopedEnv env("OFF_CUDA_ATTENTION", path);
  std::mt19937 rng(92);
  Shape qs{d.B, d.Hq, d.T, d.D}, ks{d.B, d.Hkv, d.S, d.D}, vs{d.B, d.Hkv, d.S, d.Dv},
      os{d.B, d.Hq, d.T, d.Dv};
  std::vector<HostTensor> in{randomBf16(qs, rng, -2, 2), randomBf16(ks, rng, -2, 2),
                             randomBf16(vs, rng)};
  backend::KernelAttrs attrs{{"causal", d.causal}};
  backend::Backend &gpu = *cuda::cudaBackendIfUsable();
  HostTensor want = runOp(cpu::cpuBackend(), "attention", in, {{os, DType::BF16}}, attrs)[0];
  HostTensor got = runOp(gpu, "attention", in, {{os, DType::BF16}}, attrs)[0];
  HostTensor again = runOp(gpu, "attention", in, {{os, DType::BF16}}, attrs)[0];
  std::vector<double> g = asDouble(got), w = asDouble(want);
  EXPECT_LE(relativeError(g, w, kFloor), 1.0 / 128) << path << " bf16 attention";
  int64_t apart = 0;
  for (size_t i = 0; i < g.size(); ++i)
    apart += g[i] != w[i];
  EXPECT_LE(apart, std::max<int64_t>(1, int64_t(g.size()) / 100))
      << path << " bf16 attention: elements rounded apart";
  EXPECT_TRUE(sameBits(got, again)) << path << " bf16 attention not deterministic";
}

TEST_P(CudaAttention, TiledMatchesTheCpuBackend) {
  compareBothPaths(GetParam(), "tiled");
  compareBf16Forward(GetParam(), "tiled");
}

TEST_P(CudaAttention, RowwiseMatchesTheCpuBackend) {
  compareBothPaths(GetParam(), "rowwise");
  compareBf16Forward(GetParam(), "rowwise");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaAttention,
    ::testing::Values(Dims{1, 1, 1, 1, 1, 2, 2, true}, Dims{2, 4, 1, 7, 7, 17, 17, true},
                      Dims{1, 4, 4, 33, 40, 64, 64, true}, Dims{1, 4, 1, 65, 65, 128, 128, true},
                      Dims{1, 2, 2, 130, 131, 64, 64, true}, Dims{1, 2, 1, 130, 200, 17, 33, false},
                      Dims{1, 1, 1, 70, 97, 128, 64, true}, Dims{1, 1, 1, 33, 5, 64, 64, false},
                      Dims{1, 1, 1, 130, 130, 2, 128, true}, Dims{2, 8, 2, 65, 65, 32, 32, true}),
    [](const auto &info) { return name(info.param); });

double relative(const std::vector<float> &got, const std::vector<float> &want) {
  double worst = 0.0, scale = kFloor;
  for (size_t i = 0; i < want.size(); ++i) {
    double diff = std::fabs(double(got[i]) - double(want[i]));
    worst = std::isnan(diff) ? INFINITY : std::max(worst, diff);
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return worst / scale;
}

// llama3.2-1b's attention in a training step (B 4, T = S = 1024, 32 query
// heads over 8 kv heads, D 64, causal) through the backend interface (as a
// plan runs it): milliseconds per call of each family, printed with their
// ratio (never asserted); the two families' results agree within 1e-4 and
// the tiled ones are the same bits run after run.
TEST(CudaAttentionBench, Llama1bTiledVsRowwise) {
  const int64_t B = 4, Hq = 32, Hkv = 8, T = 1024, D = 64;
  Shape qs{B, Hq, T, D}, ks{B, Hkv, T, D};
  std::mt19937 rng(5);
  std::vector<HostTensor> in{randomF32(qs, rng), randomF32(ks, rng), randomF32(ks, rng),
                             randomF32(qs, rng)};
  backend::Backend &gpu = *cuda::cudaBackendIfUsable();
  backend::KernelAttrs attrs{{"causal", true}};
  auto bind = [&](const char *op, size_t nIn, const std::vector<Shape> &outs) {
    std::vector<backend::TensorArg> ins, os;
    for (size_t i = 0; i < nIn; ++i)
      ins.push_back({nullptr, in[i].shape, DType::F32});
    for (const Shape &s : outs)
      os.push_back({nullptr, s, DType::F32});
    return backend::BoundKernel(gpu.kernels(StreamKind::Compute), op, ins, os, attrs);
  };
  backend::BoundKernel fwd = bind("attention", 3, {qs});
  backend::BoundKernel bwd = bind("attention_grad", 4, {qs, ks, ks});
  const uint64_t qBytes = uint64_t(B * Hq * T * D) * 4, kBytes = uint64_t(B * Hkv * T * D) * 4;
  backend::ArenaRequest request;
  request.label = "arena 'attention bench'";
  request.tier = Tier::Device;
  request.size = 4 * qBytes + 4 * kBytes + fwd.workspaceBytes() + bwd.workspaceBytes() + 64;
  std::unique_ptr<backend::Arena> arena = gpu.allocateArena(request);
  std::byte *at = arena->data();
  auto take = [&](uint64_t bytes) {
    void *p = at;
    at += bytes;
    return p;
  };
  std::vector<void *> inData{take(qBytes), take(kBytes), take(kBytes), take(qBytes)};
  for (size_t i = 0; i < in.size(); ++i)
    gpu.upload(inData[i], in[i].bytes.data(), in[i].bytes.size());
  void *o = take(qBytes), *dq = take(qBytes), *dk = take(kBytes), *dv = take(kBytes);
  std::span<std::byte> fwdSpace(static_cast<std::byte *>(take(fwd.workspaceBytes())),
                                size_t(fwd.workspaceBytes()));
  std::span<std::byte> bwdSpace(static_cast<std::byte *>(take(bwd.workspaceBytes())),
                                size_t(bwd.workspaceBytes()));
  std::unique_ptr<backend::Stream> stream = gpu.createStream(StreamKind::Compute, "bench");
  const std::vector<void *> fwdIn{inData[0], inData[1], inData[2]}, fwdOut{o},
      bwdOut{dq, dk, dv};
  auto runFwd = [&] { gpu.launch(*stream, fwd, fwdIn, fwdOut, fwdSpace, backend::StepContext{}); };
  auto runBwd = [&] {
    gpu.launch(*stream, bwd, inData, bwdOut, bwdSpace, backend::StepContext{});
  };
  const int repeats = 3;
  auto time = [&](const std::function<void()> &call) {
    call(); // warm-up
    gpu.synchronize(*stream);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i)
      call();
    gpu.synchronize(*stream);
    std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
    return ms.count() / repeats;
  };
  auto download = [&](void *p, uint64_t bytes) {
    std::vector<float> h(bytes / 4);
    gpu.download(h.data(), p, bytes);
    return h;
  };
  auto results = [&] {
    return std::vector<std::vector<float>>{download(o, qBytes), download(dq, qBytes),
                                           download(dk, kBytes), download(dv, kBytes)};
  };
  double ms[2][2];
  std::vector<std::vector<float>> out[2];
  for (int path = 0; path < 2; ++path) {
    ScopedEnv env("OFF_CUDA_ATTENTION", path == 0 ? "rowwise" : "tiled");
    ms[path][0] = time(runFwd);
    ms[path][1] = time(runBwd);
    out[path] = results();
  }
  {
    // Same bits again (a run after the timed ones).
    ScopedEnv env("OFF_CUDA_ATTENTION", "tiled");
    runFwd();
    runBwd();
    gpu.synchronize(*stream);
    EXPECT_TRUE(results() == out[1]) << "tiled attention not deterministic";
  }
  const char *names[4] = {"output", "grad_query", "grad_key", "grad_value"};
  for (int i = 0; i < 4; ++i)
    EXPECT_LE(relative(out[1][i], out[0][i]), 1e-4) << names[i] << ": tiled vs rowwise";
  std::printf("attention B4 T1024 S1024 Hq32 Hkv8 D64 causal fp32: forward rowwise %.3f ms, "
              "tiled %.3f ms, rowwise/tiled %.2fx; backward rowwise %.3f ms, tiled %.3f ms, "
              "rowwise/tiled %.2fx (mean of %d calls each after a warm-up)\n",
              ms[0][0], ms[1][0], ms[0][0] / ms[1][0], ms[0][1], ms[1][1], ms[0][1] / ms[1][1],
              repeats);
}

} // namespace
} // namespace off::test
