// The CPU kernels give the same bits run after run, and (a property the CPU
// backend documents beyond what the brief requires) for any thread count:
// sizes here are large enough that every kernel really splits its work.
#include "runtime/common/Parallel.h"
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cpu/CpuParallel.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"
#include "test/unit/runtime/cpu/RopeTables.h"

#include <gtest/gtest.h>

#include <functional>

using namespace off::test;
using off::backend::AttrValue;

namespace {

struct OpRun {
  std::string name;
  std::function<std::vector<HostTensor>()> run;
};

std::vector<OpRun> opRuns() {
  off::backend::Backend &cpu = off::cpu::cpuBackend();
  std::mt19937 rng(51);
  auto ids = [&](Shape s, int64_t v) { return randomIds(std::move(s), v, rng); };
  // Sizes that make every kernel split its work (checked below).
  HostTensor a = randomF32({2, 300, 70}, rng), w = randomF32({260, 70}, rng);
  HostTensor x = randomF32({3000, 96}, rng), g = randomF32({96}, rng);
  HostTensor dy = randomF32({3000, 96}, rng);
  HostTensor q = randomF32({2, 4, 100, 16}, rng), k = randomF32({2, 2, 120, 16}, rng);
  HostTensor v = randomF32({2, 2, 120, 16}, rng), dout = randomF32({2, 4, 100, 16}, rng);
  HostTensor logits = randomF32({512, 300}, rng, -5, 5), targets = ids({512}, 300);
  HostTensor tokens = ids({5000}, 50), rowsGrad = randomF32({5000, 256}, rng);
  HostTensor big = randomF32({2000, 50, 40}, rng), norm = randomF32({200000}, rng);
  HostTensor gate = randomF32({40000}, rng), up = randomF32({40000}, rng);
  HostTensor dgate = randomF32({40000}, rng);
  HostTensor rope = randomF32({4, 8, 200, 16}, rng);
  RopeTables tables = ropeTables(200, 16, 10000.0);
  off::backend::KernelAttrs causal{{"causal", true}};
  return {
      {"matmul", [=, &cpu] {
         return runOp(cpu, "matmul", {a, w}, {{{2, 300, 260}}}, {{"transpose_rhs", true}});
       }},
      {"rms_norm", [=, &cpu] { return runOp(cpu, "rms_norm", {x, g}, {{x.shape}}, {{"eps", 1e-5}}); }},
      {"rms_norm_grad", [=, &cpu] {
         return runOp(cpu, "rms_norm_grad", {x, g, dy}, {{x.shape}, {{96}}}, {{"eps", 1e-5}});
       }},
      {"rope", [=, &cpu] { return runOp(cpu, "rope", {rope, tables.cos, tables.sin}, {{rope.shape}}); }},
      {"attention", [=, &cpu] { return runOp(cpu, "attention", {q, k, v}, {{dout.shape}}, causal); }},
      {"attention_grad", [=, &cpu] {
         return runOp(cpu, "attention_grad", {q, k, v, dout}, {{q.shape}, {k.shape}, {v.shape}},
                      causal);
       }},
      {"cross_entropy", [=, &cpu] { return runOp(cpu, "cross_entropy", {logits, targets}, {{{}}}); }},
      {"cross_entropy_grad", [=, &cpu] {
         return runOp(cpu, "cross_entropy_grad", {logits, targets, f32Tensor({}, {1.0})},
                      {{logits.shape}});
       }},
      {"embedding_grad", [=, &cpu] {
         return runOp(cpu, "embedding_grad", {tokens, rowsGrad}, {{{50, 256}}},
                      {{"vocab_size", AttrValue(int64_t(50))}});
       }},
      {"softmax", [=, &cpu] {
         return runOp(cpu, "softmax", {logits}, {{logits.shape}}, {{"axis", AttrValue(int64_t(1))}});
       }},
      {"reduce_sum", [=, &cpu] {
         return runOp(cpu, "reduce_sum", {big}, {{{2000, 40}}},
                      {{"axes", AttrValue(std::vector<int64_t>{1})}});
       }},
      {"global_norm", [=, &cpu] { return runOp(cpu, "global_norm", {norm, x}, {{{}}}); }},
      {"norm_partial", [=, &cpu] {
         return runOp(cpu, "norm_partial", {big}, {{{(big.numel() + 65535) / 65536}, DType::F64}});
       }},
      {"swiglu_grad", [=, &cpu] {
         return runOp(cpu, "swiglu_grad", {gate, up, dgate}, {{gate.shape}, {gate.shape}});
       }},
      {"gather_grad", [=, &cpu] {
         return runOp(cpu, "gather_grad", {tokens, rowsGrad}, {{{50, 256}}},
                      {{"axis", AttrValue(int64_t(0))}});
       }},
  };
}

bool allSame(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!sameBits(a[i], b[i]))
      return false;
  return true;
}

class ThreadCountScope {
public:
  explicit ThreadCountScope(unsigned n) { off::setDefaultThreadCount(n); }
  ~ThreadCountScope() { off::setDefaultThreadCount(0); }
};

TEST(Determinism, SameBitsRunAfterRunWithThreeThreads) {
  ThreadCountScope threads(3);
  for (const OpRun &op : opRuns()) {
    uint64_t splitsBefore = off::cpu::parallelRangeSplits();
    std::vector<HostTensor> first = op.run();
    EXPECT_GT(off::cpu::parallelRangeSplits(), splitsBefore)
        << op.name << " did not split its work: the test would prove nothing";
    for (int repeat = 0; repeat < 3; ++repeat)
      EXPECT_TRUE(allSame(first, op.run())) << op.name << " differs on repeat " << repeat;
  }
}

TEST(Determinism, SameBitsForAnyThreadCount) {
  std::vector<OpRun> ops = opRuns();
  std::vector<std::vector<HostTensor>> reference;
  {
    ThreadCountScope threads(1);
    for (const OpRun &op : ops)
      reference.push_back(op.run());
  }
  for (unsigned n : {2u, 3u, 5u}) {
    ThreadCountScope threads(n);
    for (size_t i = 0; i < ops.size(); ++i)
      EXPECT_TRUE(allSame(reference[i], ops[i].run()))
          << ops[i].name << " with " << n << " threads differs from 1 thread";
  }
}

} // namespace
