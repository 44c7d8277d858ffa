// `offrt bench kernels`: the CPU backend's kernels, called through the kernel
// table, at the shapes one layer of a Llama training step gives them.
// Prints ms per call; bench/kernels_compare.py runs the same ops in PyTorch
// eager in the same run and prints the ratios.
#include "bench/BenchArgs.h"
#include "bench/BenchRegistry.h"
#include "bench/BenchTiming.h"
#include "runtime/common/Json.h"
#include "runtime/common/Parallel.h"
#include "runtime/cpu/CpuBackend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using off::backend::AttrValue;
using off::DType;
using off::backend::KernelAttrs;
using off::backend::TensorArg;

struct Model {
  int64_t C, I, H, Hkv, V;
};

Model modelNamed(const std::string &name) {
  if (name == "tiny")
    return {64, 172, 4, 2, 256};
  if (name == "1b") // Llama 3.2 1B
    return {2048, 8192, 32, 8, 128256};
  throw std::invalid_argument("--model must be tiny or 1b");
}

// A tensor of random values (ids in [0, vocab) for integer dtypes).
struct Buffer {
  std::vector<float> f;
  std::vector<int32_t> ids;
  TensorArg arg;
};

Buffer makeBuffer(std::vector<int64_t> shape, std::mt19937 &rng, DType dtype = DType::F32,
                  int64_t vocab = 0) {
  Buffer b;
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  if (dtype == DType::I32) {
    std::uniform_int_distribution<int32_t> dist(0, int32_t(vocab - 1));
    b.ids.resize(size_t(n));
    for (int32_t &x : b.ids)
      x = dist(rng);
    b.arg = {b.ids.data(), shape, dtype};
  } else {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    b.f.resize(size_t(n));
    for (float &x : b.f)
      x = dist(rng);
    b.arg = {b.f.data(), shape, dtype};
  }
  return b;
}

struct Case {
  std::string name;
  std::string op;
  std::vector<std::vector<int64_t>> inputs;
  std::vector<std::vector<int64_t>> outputs;
  KernelAttrs attrs;
  std::vector<int> indexInputs; // which inputs are ids
};

int runKernelsBench(const std::vector<std::string> &args) {
  std::string modelName = "tiny";
  int64_t batch = 8, seq = 256;
  unsigned threads = 0;
  double minTime = 0.2;
  bool json = false;
  std::string only;
  off::cli::Command cmd("offrt bench kernels", "[options]",
                        "The CPU backend's kernels at one Llama layer's shapes (ms per call).");
  cmd.choice("--model", modelName, {"tiny", "1b"}, "the layer's sizes (default tiny)");
  cmd.option("--batch", batch, "B", "batch (default 8)", off::cli::positive);
  cmd.option("--seq", seq, "T", "sequence length (default 256)", off::cli::positive);
  cmd.threads("--threads", threads, "threads, at most the CPUs this process may run\non (default: all of them)");
  cmd.option("--min-time", minTime, "S", "seconds each kernel runs at least (default 0.2)",
             off::cli::nonNegative);
  cmd.option("--only", only, "NAME", "only this kernel");
  cmd.flag("--json", json, "one JSON object per kernel on stdout");
  return off::bench::runBenchmark(cmd, args, [&] {
    off::setDefaultThreadCount(threads);
    Model m = modelNamed(modelName);
    int64_t B = batch, T = seq, N = B * T, D = m.C / m.H;
    KernelAttrs causal{{"causal", true}};
    KernelAttrs eps{{"eps", 1e-5}};
    std::vector<Case> cases = {
        {"rms_norm", "rms_norm", {{N, m.C}, {m.C}}, {{N, m.C}}, eps, {}},
        {"rms_norm_grad", "rms_norm_grad", {{N, m.C}, {m.C}, {N, m.C}}, {{N, m.C}, {m.C}}, eps, {}},
        {"rope", "rope", {{B, m.H, T, D}, {T, D}, {T, D}}, {{B, m.H, T, D}}, {}, {}},
        {"rope_grad", "rope_grad", {{B, m.H, T, D}, {T, D}, {T, D}}, {{B, m.H, T, D}}, {}, {}},
        {"attention", "attention", {{B, m.H, T, D}, {B, m.Hkv, T, D}, {B, m.Hkv, T, D}},
         {{B, m.H, T, D}}, causal, {}},
        {"attention_grad", "attention_grad",
         {{B, m.H, T, D}, {B, m.Hkv, T, D}, {B, m.Hkv, T, D}, {B, m.H, T, D}},
         {{B, m.H, T, D}, {B, m.Hkv, T, D}, {B, m.Hkv, T, D}}, causal, {}},
        {"swiglu", "swiglu", {{N, m.I}, {N, m.I}}, {{N, m.I}}, {}, {}},
        {"swiglu_grad", "swiglu_grad", {{N, m.I}, {N, m.I}, {N, m.I}}, {{N, m.I}, {N, m.I}}, {}, {}},
        {"cross_entropy", "cross_entropy", {{N, m.V}, {N}}, {{}}, {}, {1}},
        {"cross_entropy_grad", "cross_entropy_grad", {{N, m.V}, {N}, {}}, {{N, m.V}}, {}, {1}},
        {"embedding", "embedding", {{m.V, m.C}, {N}}, {{N, m.C}}, {}, {1}},
        {"embedding_grad", "embedding_grad", {{N}, {N, m.C}}, {{m.V, m.C}},
         {{"vocab_size", AttrValue(m.V)}}, {0}},
        {"matmul_qkv", "matmul", {{N, m.C}, {(m.H + 2 * m.Hkv) * D, m.C}},
         {{N, (m.H + 2 * m.Hkv) * D}}, {{"transpose_rhs", true}}, {}},
        {"matmul_up", "matmul", {{N, m.C}, {m.I, m.C}}, {{N, m.I}}, {{"transpose_rhs", true}}, {}},
        {"matmul_down", "matmul", {{N, m.I}, {m.C, m.I}}, {{N, m.C}}, {{"transpose_rhs", true}}, {}},
        {"matmul_lm_head", "matmul", {{N, m.C}, {m.V, m.C}}, {{N, m.V}}, {{"transpose_rhs", true}}, {}},
    };
    const auto &table = off::cpu::cpuKernels();
    std::mt19937 rng(7);
    if (!json)
      std::printf("kernels: model %s (C %lld, MLP %lld, heads %lld/%lld, vocab %lld), batch %lld, "
                  "seq %lld, %u threads\n",
                  modelName.c_str(), (long long)m.C, (long long)m.I, (long long)m.H,
                  (long long)m.Hkv, (long long)m.V, (long long)B, (long long)T,
                  off::defaultThreadCount());
    for (const Case &c : cases) {
      if (!only.empty() && c.name != only)
        continue;
      std::vector<Buffer> ins, outs;
      for (size_t i = 0; i < c.inputs.size(); ++i) {
        bool isIndex = std::find(c.indexInputs.begin(), c.indexInputs.end(), int(i)) !=
                       c.indexInputs.end();
        ins.push_back(makeBuffer(c.inputs[i], rng, isIndex ? DType::I32 : DType::F32, m.V));
      }
      for (const auto &shape : c.outputs)
        outs.push_back(makeBuffer(shape, rng));
      std::vector<TensorArg> in, out;
      for (Buffer &b : ins)
        in.push_back(b.arg);
      for (Buffer &b : outs)
        out.push_back(b.arg);
      double ms = off::bench::secondsPerCall([&] { table.call(c.op, in, out, c.attrs); },
                                             minTime) * 1e3;
      if (json)
        std::printf("%s\n", off::Json({{"kernel", c.name}, {"ms", ms}}).dump().c_str());
      else
        std::printf("  %-20s %10.3f ms\n", c.name.c_str(), ms);
      std::fflush(stdout);
    }
    return 0;
  });
}

off::bench::Registration registration{
    {"kernels", "CPU backend kernels at one Llama layer's shapes (ms per call)", runKernelsBench}};

} // namespace
