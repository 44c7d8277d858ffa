// offc simulate's replay (compiler/Simulate/Simulator.h) on plans built by
// hand, against times and byte counts worked out by hand from the profile's
// round numbers: stream order, event waits, the roofline of a matmul, copy
// rates per link, CPU Adam bound by cores or by memory, bytes alive per tier.

#include "compiler/Simulate/Simulator.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace off;
using namespace off::sim;

namespace {

/// A host with round numbers: 4 cores, Adam 1e6 params/s per core, memory
/// `hostBandwidth` bytes/s.
std::string hostFile(double hostBandwidth) {
  std::string path = ::testing::TempDir() + "sim_host_" +
                     std::to_string(static_cast<long long>(hostBandwidth)) + ".json";
  std::ofstream out(path);
  out << R"({"name": "test-host", "kind": "cpu", "description": "d",
    "host": {"memory_bytes": {"value": 1e9, "source": "s"},
             "memory_bandwidth_bytes_per_s": {"value": )"
      << hostBandwidth << R"(, "source": "s"},
             "cores": {"value": 4, "source": "s"},
             "flops_per_s_per_core": {"f32": {"value": 1e9, "source": "s"}},
             "adam_params_per_s_per_core": {"value": 1e6, "source": "s"}},
    "nvme": {"read_bytes_per_s": {"value": 1e9, "source": "s"},
             "write_bytes_per_s": {"value": 5e8, "source": "s"}}})";
  return path;
}

/// A GPU: 1 TFLOP/s f32 (no bf16), 100 GB/s memory, 10 GB/s h2d, 5 GB/s d2h.
DeviceProfile gpu(double hostBandwidth = 1e9) {
  std::string text = R"({"name": "test-gpu", "kind": "gpu", "description": "d",
    "host_profile": ")" + hostFile(hostBandwidth) + R"(",
    "device": {"memory_bytes": {"value": 1e9, "source": "s"},
               "memory_bandwidth_bytes_per_s": {"value": 1e11, "source": "s"},
               "flops_per_s": {"f32": {"value": 1e12, "source": "s"}}},
    "pcie": {"h2d_bytes_per_s": {"value": 1e10, "source": "s"},
             "d2h_bytes_per_s": {"value": 5e9, "source": "s"}}})";
  std::string error;
  std::optional<DeviceProfile> p = parseDeviceProfile(text, "test-gpu.json", error);
  EXPECT_TRUE(p) << error;
  return p ? *p : DeviceProfile{};
}

struct Builder {
  plan::Plan plan;
  Builder() {
    plan.set_format_version(plan::kFormatVersion);
    for (plan::TierKind kind : {plan::TIER_DEVICE, plan::TIER_HOST}) {
      plan.add_tiers()->set_kind(kind);
      plan::Arena *arena = plan.add_arenas();
      arena->set_tier(uint32_t(plan.tiers_size() - 1));
      arena->set_alignment(64);
    }
  }
  uint32_t tensor(const std::string &name, std::vector<int64_t> shape, plan::Role role,
                  uint32_t arena, uint64_t offset, plan::DType dtype = plan::F32) {
    plan::Tensor *t = plan.add_tensors();
    t->set_name(name);
    uint64_t n = 1;
    for (int64_t d : shape) {
      t->add_shape(d);
      n *= uint64_t(d);
    }
    t->set_dtype(dtype);
    t->set_role(role);
    t->set_arena(arena);
    t->set_offset(offset);
    t->set_size_bytes(n * plan::dtypeSize(dtype));
    if (role == plan::PARAM)
      t->set_init(plan::INIT_NORMAL);
    plan::Arena *a = plan.mutable_arenas(int(arena));
    a->set_size_bytes(std::max(a->size_bytes(), offset + t->size_bytes()));
    return uint32_t(plan.tensors_size() - 1);
  }
  plan::Stream *stream(plan::StreamKind kind) {
    plan::Stream *s = plan.add_streams();
    s->set_kind(kind);
    return s;
  }
  static void copy(plan::Stream *s, uint32_t src, uint32_t dst) {
    plan::Copy *c = s->add_instructions()->mutable_copy();
    c->set_src(src);
    c->set_dst(dst);
  }
  static plan::Kernel *kernel(plan::Stream *s, const std::string &op,
                              std::vector<uint32_t> inputs, std::vector<uint32_t> outputs) {
    plan::Kernel *k = s->add_instructions()->mutable_kernel();
    k->set_op(op);
    for (uint32_t id : inputs)
      k->add_inputs(id);
    for (uint32_t id : outputs)
      k->add_outputs(id);
    return k;
  }
  void record(plan::Stream *s, uint32_t event) {
    s->add_instructions()->set_record_event(event);
    plan.set_num_events(std::max(plan.num_events(), event + 1));
  }
  static void wait(plan::Stream *s, uint32_t event) {
    s->add_instructions()->set_wait_event(event);
  }
};

/// h2d: copy w (host) to the device; compute: y = x w; d2h: copy y back.
Builder fetchMultiplyReturn(plan::DType dtype = plan::F32) {
  Builder b;
  uint32_t x = b.tensor("x", {32, 64}, plan::INPUT, 0, 0, dtype);
  uint32_t w = b.tensor("w", {64, 64}, plan::PARAM, 1, 0, dtype);
  uint64_t size = plan::dtypeSize(dtype);
  uint32_t wd = b.tensor("w@device", {64, 64}, plan::ACTIVATION, 0, 2048 * size, dtype);
  uint32_t y = b.tensor("y", {32, 64}, plan::ACTIVATION, 0, 6144 * size, dtype);
  uint32_t yh = b.tensor("y@host", {32, 64}, plan::ACTIVATION, 1, 4096 * size, dtype);
  plan::Stream *h2d = b.stream(plan::H2D);
  plan::Stream *compute = b.stream(plan::COMPUTE);
  plan::Stream *d2h = b.stream(plan::D2H);
  Builder::copy(h2d, w, wd);
  b.record(h2d, 0);
  Builder::wait(compute, 0);
  Builder::kernel(compute, "matmul", {x, wd}, {y});
  b.record(compute, 1);
  Builder::wait(d2h, 1);
  Builder::copy(d2h, y, yh);
  return b;
}

TEST(Simulator, StreamsEventsAndRatesByHand) {
  Builder b = fetchMultiplyReturn();
  ASSERT_TRUE(plan::validatePlan(b.plan).empty()) << plan::validatePlan(b.plan)[0];
  std::string error;
  std::optional<Simulation> sim = simulate(b.plan, gpu(), error);
  ASSERT_TRUE(sim) << error;
  // h2d: 16384 B at 1e10 B/s. matmul: 2*32*64*64 = 262144 FLOPs (0.262 us
  // at 1e12) but 8192 + 16384 + 8192 B at 1e11 B/s: 0.32768 us, memory
  // bound. d2h: 8192 B at 5e9 B/s. Each waits for the one before.
  const double h2d = 16384 / 1e10, matmul = 32768 / 1e11, d2h = 8192 / 5e9;
  EXPECT_DOUBLE_EQ(sim->stepSeconds, h2d + matmul + d2h);
  ASSERT_EQ(sim->streams.size(), 3u);
  EXPECT_EQ(sim->streams[0].name, "h2d");
  EXPECT_EQ(sim->streams[1].name, "compute");
  EXPECT_DOUBLE_EQ(sim->streams[0].busy, h2d);
  EXPECT_DOUBLE_EQ(sim->streams[1].busy, matmul);
  EXPECT_DOUBLE_EQ(sim->streams[1].end, h2d + matmul);
  EXPECT_DOUBLE_EQ(sim->streams[2].busy, d2h);
  EXPECT_EQ(sim->flops, 262144u);
  EXPECT_EQ(sim->h2d, 16384u);
  EXPECT_EQ(sim->d2h, 8192u);
  ASSERT_EQ(sim->slices.size(), 3u);
  EXPECT_DOUBLE_EQ(sim->slices[1].start, h2d);
  // Device: x all step; w@device from the copy's start to the matmul's
  // end; y from the matmul's start to the d2h copy's end: 32768 B at most,
  // during the matmul. Host: w all step, y@host from the d2h copy on.
  EXPECT_EQ(sim->tiers[0].name, "device");
  EXPECT_EQ(sim->tiers[0].peakBytes, 32768u);
  EXPECT_EQ(sim->tiers[0].peakLiveBytes, 32768u);
  EXPECT_DOUBLE_EQ(sim->tiers[0].peakLiveAt, h2d);
  EXPECT_EQ(sim->tiers[1].peakBytes, 24576u);
  EXPECT_EQ(sim->tiers[1].peakLiveBytes, 24576u);
  EXPECT_DOUBLE_EQ(sim->tiers[1].peakLiveAt, h2d + matmul);
  // After the matmul w@device is dead: x and y remain.
  bool sawAfter = false;
  for (auto [at, bytes] : sim->tiers[0].live)
    if (at == h2d + matmul) {
      EXPECT_EQ(bytes, 16384u);
      sawAfter = true;
    }
  EXPECT_TRUE(sawAfter);
  EXPECT_EQ(sim->tiers[2].peakBytes, 0u);
}

TEST(Simulator, ComputeBoundMatmul) {
  // A larger K makes the same matmul compute bound: [32, 1024] x [1024, 64]:
  // 2*32*64*1024 FLOPs at 1e12 against (32*1024 + 1024*64 + 32*64)*4 B at 1e11.
  Builder b;
  uint32_t x = b.tensor("x", {32, 1024}, plan::INPUT, 0, 0);
  uint32_t w = b.tensor("w", {1024, 64}, plan::PARAM, 0, 131072);
  uint32_t y = b.tensor("y", {32, 64}, plan::ACTIVATION, 0, 393216);
  Builder::kernel(b.stream(plan::COMPUTE), "matmul", {x, w}, {y});
  std::string error;
  std::optional<Simulation> sim = simulate(b.plan, gpu(), error);
  ASSERT_TRUE(sim) << error;
  double flops = 2.0 * 32 * 64 * 1024, bytes = (32 * 1024 + 1024 * 64 + 32 * 64) * 4.0;
  ASSERT_GT(flops / 1e12, bytes / 1e11);
  EXPECT_DOUBLE_EQ(sim->stepSeconds, flops / 1e12);
}

TEST(Simulator, CpuAdamByCoresOrByMemory) {
  for (double hostBandwidth : {1e9, 1e7}) {
    Builder b;
    uint32_t p = b.tensor("p", {1000}, plan::PARAM, 1, 0);
    uint32_t g = b.tensor("p.grad", {1000}, plan::GRAD, 1, 4032);
    uint32_t m = b.tensor("p.exp_avg", {1000}, plan::OPTIMIZER_STATE, 1, 8064);
    uint32_t v = b.tensor("p.exp_avg_sq", {1000}, plan::OPTIMIZER_STATE, 1, 12096);
    Builder::kernel(b.stream(plan::HOST_OPTIMIZER), "adam_step", {p, g, m, v}, {p, m, v});
    std::string error;
    std::optional<Simulation> sim = simulate(b.plan, gpu(hostBandwidth), error);
    ASSERT_TRUE(sim) << error;
    // 1000 params on 4 cores at 1e6 each: 250 us; 28 B per param through
    // memory: 28 us at 1e9 B/s, 2.8 ms at 1e7 B/s.
    double cores = 1000 / 4e6, memory = 28000 / hostBandwidth;
    EXPECT_DOUBLE_EQ(sim->stepSeconds, std::max(cores, memory)) << hostBandwidth;
    EXPECT_EQ(sim->streams[0].name, "host-optimizer");
  }
}

TEST(Simulator, RefusesWhatItCannotCost) {
  std::string error;
  Builder unknown = fetchMultiplyReturn();
  unknown.plan.mutable_streams(1)->mutable_instructions(1)->mutable_kernel()->set_op("frobnicate");
  EXPECT_FALSE(simulate(unknown.plan, gpu(), error));
  EXPECT_EQ(error, "stream 1 (compute) instruction #1: no cost rule for kernel 'frobnicate' "
                   "(compiler/Simulate/KernelCost.cpp)");
  Builder half = fetchMultiplyReturn(plan::BF16);
  EXPECT_FALSE(simulate(half.plan, gpu(), error));
  EXPECT_EQ(error, "stream 1 (compute) instruction #1: kernel 'matmul' computes in bf16 but "
                   "profile 'test-gpu' has no bf16 rate for the device");
}

TEST(Simulator, WaitsThatCannotBeMetAreAnErrorNotAHang) {
  Builder b;
  plan::Stream *a = b.stream(plan::COMPUTE);
  plan::Stream *c = b.stream(plan::H2D);
  Builder::wait(a, 1);
  b.record(a, 0);
  Builder::wait(c, 0);
  b.record(c, 1);
  std::string error;
  EXPECT_FALSE(simulate(b.plan, gpu(), error));
  EXPECT_EQ(error, "stream 0 (compute) instruction #0 waits for event 1, which is never "
                   "recorded before it (the waits form a cycle)");
}

TEST(Simulator, ViewsShareBytes) {
  // A reshape's result has its source's bytes: counted once while alive.
  Builder b;
  uint32_t x = b.tensor("x", {16, 16}, plan::INPUT, 0, 0);
  uint32_t y = b.tensor("y", {16, 16}, plan::ACTIVATION, 0, 1024);
  uint32_t view = b.tensor("y.view", {256}, plan::ACTIVATION, 0, 1024);
  uint32_t z = b.tensor("z", {256}, plan::OUTPUT, 0, 2048);
  plan::Stream *s = b.stream(plan::COMPUTE);
  Builder::kernel(s, "neg", {x}, {y});
  Builder::kernel(s, "reshape", {y}, {view});
  Builder::kernel(s, "neg", {view}, {z});
  std::string error;
  std::optional<Simulation> sim = simulate(b.plan, gpu(), error);
  ASSERT_TRUE(sim) << error;
  EXPECT_EQ(sim->tiers[0].peakLiveBytes, 3072u); // x, y (= its view), z
  EXPECT_EQ(sim->tiers[0].peakBytes, 3072u);
  // neg: 256 FLOPs, 2048 B at 1e11 B/s; the reshape moves nothing.
  EXPECT_DOUBLE_EQ(sim->stepSeconds, 2 * 2048 / 1e11);
}

} // namespace

namespace {

/// Two streams, each with one kernel, started together: a matmul on the
/// compute stream and AdamW on the host-optimizer stream.
Builder computeBesideAdam() {
  Builder b;
  uint32_t x = b.tensor("x", {32, 1024}, plan::INPUT, 0, 0);
  uint32_t w = b.tensor("w", {1024, 64}, plan::PARAM, 0, 131072);
  uint32_t y = b.tensor("y", {32, 64}, plan::ACTIVATION, 0, 393216);
  uint32_t p = b.tensor("p", {1000}, plan::PARAM, 1, 0);
  uint32_t g = b.tensor("p.grad", {1000}, plan::GRAD, 1, 4032);
  uint32_t m = b.tensor("p.exp_avg", {1000}, plan::OPTIMIZER_STATE, 1, 8064);
  uint32_t v = b.tensor("p.exp_avg_sq", {1000}, plan::OPTIMIZER_STATE, 1, 12096);
  Builder::kernel(b.stream(plan::COMPUTE), "matmul", {x, w}, {y});
  Builder::kernel(b.stream(plan::HOST_OPTIMIZER), "adam_step", {p, g, m, v}, {p, m, v});
  return b;
}

TEST(Simulator, GpuAndHostRunSideBySide) {
  Builder b = computeBesideAdam();
  std::string error;
  std::optional<Simulation> sim = simulate(b.plan, gpu(), error);
  ASSERT_TRUE(sim) << error;
  double matmul = 2.0 * 32 * 64 * 1024 / 1e12, adam = 1000 / 4e6;
  EXPECT_NEAR(sim->stepSeconds, std::max(matmul, adam), 1e-15);
  EXPECT_NEAR(sim->streams[0].busy, matmul, 1e-15);
}

TEST(Simulator, TheCpuBackendSharesItsCores) {
  // On a CPU profile the compute stream and the optimizer run on the same
  // cores: while both run each gets half, so the step is the sum of the two
  // costs and the shorter one takes twice its cost.
  std::string text = R"({"name": "test-cpu", "kind": "cpu", "description": "d",
    "host": {"memory_bytes": {"value": 1e9, "source": "s"},
             "memory_bandwidth_bytes_per_s": {"value": 1e9, "source": "s"},
             "cores": {"value": 4, "source": "s"},
             "flops_per_s_per_core": {"f32": {"value": 1e9, "source": "s"}},
             "adam_params_per_s_per_core": {"value": 1e6, "source": "s"}},
    "nvme": {"read_bytes_per_s": {"value": 1e9, "source": "s"},
             "write_bytes_per_s": {"value": 5e8, "source": "s"}}})";
  std::string error;
  std::optional<DeviceProfile> cpu = parseDeviceProfile(text, "cpu.json", error);
  ASSERT_TRUE(cpu) << error;
  Builder b = computeBesideAdam();
  std::optional<Simulation> sim = simulate(b.plan, *cpu, error);
  ASSERT_TRUE(sim) << error;
  // matmul: 2*32*64*1024 FLOPs at 4e9 FLOP/s vs (32*1024 + 1024*64 + 32*64)
  // * 4 B at 1e9 B/s: bandwidth bound. AdamW: 1000 params at 4e6/s, 28000 B at
  // 1e9 B/s.
  double matmul = std::max(2.0 * 32 * 64 * 1024 / 4e9, (32 * 1024 + 1024 * 64 + 32 * 64) * 4.0 / 1e9);
  double adam = std::max(1000 / 4e6, 28000 / 1e9);
  double shorter = std::min(matmul, adam);
  EXPECT_NEAR(sim->stepSeconds, matmul + adam, 1e-12 * (matmul + adam));
  const StreamUse &first = matmul < adam ? sim->streams[0] : sim->streams[1];
  EXPECT_NEAR(first.busy, 2 * shorter, 1e-12 * shorter);
  EXPECT_NEAR(first.work, shorter, 1e-12 * shorter);
  EXPECT_NEAR(sim->slices[0].work, matmul, 1e-12 * matmul);
}

TEST(Simulator, NvmeReadsAndWritesShareTheDrive) {
  // 1 MB read (1e9 B/s alone: 1 ms) beside 1 MB written (5e8 B/s alone:
  // 2 ms): both at half speed until the read ends at 2 ms, having written
  // 0.5 MB; the rest of the write takes 1 ms more: 3 ms.
  Builder b;
  plan::Tier *nvme = b.plan.add_tiers();
  nvme->set_kind(plan::TIER_NVME);
  plan::Arena *arena = b.plan.add_arenas();
  arena->set_tier(2);
  arena->set_alignment(64);
  uint32_t a = b.tensor("a", {250000}, plan::OPTIMIZER_STATE, 2, 0);
  uint32_t ah = b.tensor("a@host", {250000}, plan::ACTIVATION, 1, 0);
  uint32_t c = b.tensor("c@host", {250000}, plan::ACTIVATION, 1, 1000000);
  uint32_t cn = b.tensor("c", {250000}, plan::OPTIMIZER_STATE, 2, 1000000);
  Builder::copy(b.stream(plan::NVME_READ), a, ah);
  Builder::copy(b.stream(plan::NVME_WRITE), c, cn);
  std::string error;
  std::optional<Simulation> sim = simulate(b.plan, gpu(), error);
  ASSERT_TRUE(sim) << error;
  EXPECT_NEAR(sim->stepSeconds, 3e-3, 1e-15);
  EXPECT_NEAR(sim->streams[0].busy, 2e-3, 1e-15);
  EXPECT_NEAR(sim->streams[0].work, 1e-3, 1e-15);
  EXPECT_EQ(sim->nvmeRead, 1000000u);
  EXPECT_EQ(sim->nvmeWrite, 1000000u);
}

} // namespace

// With measured kernel times in the profile, a kernel on the compute stream
// costs what its curve says at its work (FLOPs for matmul, keyed by dtype
// and layout; bytes for the rest); one the profile did not measure keeps
// the roofline.
TEST(Simulator, MeasuredKernelTimesReplaceTheRoofline) {
  Builder b;
  uint32_t x = b.tensor("x", {32, 1024}, plan::INPUT, 0, 0);
  uint32_t w = b.tensor("w", {64, 1024}, plan::PARAM, 0, 131072);
  uint32_t y = b.tensor("y", {32, 64}, plan::ACTIVATION, 0, 393216);
  uint32_t z = b.tensor("z", {32, 64}, plan::ACTIVATION, 0, 401408);
  plan::Stream *compute = b.stream(plan::COMPUTE);
  plan::Kernel *mm = Builder::kernel(compute, "matmul", {x, w}, {y});
  (*mm->mutable_attrs())["transpose_rhs"].set_b(true);
  Builder::kernel(compute, "add", {y, y}, {z});
  DeviceProfile p = gpu();
  const double flops = 2.0 * 32 * 64 * 1024, addBytes = 3.0 * 32 * 64 * 4;
  KernelTimeCurve matmul;
  matmul.byFlops = true;
  matmul.points = {{flops / 2, 1e-3}, {flops * 2, 4e-3}}; // 2.0e-3 s at `flops`
  p.kernelTimes["matmul.f32.nt"] = matmul;
  std::string error;
  std::optional<Simulation> sim = simulate(b.plan, p, error);
  ASSERT_TRUE(sim) << error;
  EXPECT_DOUBLE_EQ(sim->stepSeconds, 2e-3 + addBytes / 1e11); // add: roofline, bandwidth bound
  KernelTimeCurve add;
  add.points = {{addBytes, 5e-6}};
  p.kernelTimes["add.f32"] = add;
  p.kernelTimes["matmul.f32.nn"] = KernelTimeCurve{true, {{1, 1.0}}}; // another layout: unused
  sim = simulate(b.plan, p, error);
  ASSERT_TRUE(sim) << error;
  EXPECT_DOUBLE_EQ(sim->stepSeconds, 2e-3 + 5e-6);
}
