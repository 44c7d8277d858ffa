// See KernelTimes.h.
#include "runtime/calibrate/KernelTimes.h"
#include "runtime/calibrate/Timing.h"
#include "runtime/common/Float16.h"
#include "runtime/common/KernelWork.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace off::calibrate {
namespace {

using backend::AttrValue;
using backend::KernelAttrs;
using backend::TensorArg;

/// The sizes of one decoder layer and its batch. Three widths span the
/// models people train on one machine: small ones where per-call overhead
/// dominates, cache-resident middle ones, and ones that stream from memory;
/// the two narrower ones at two batch sizes too, since a kernel's speed
/// follows its shape (head dim, sequence, hidden) more than its total work:
/// a small model's step is its layer's kernels on more rows, not a wider
/// layer's.
struct Layer {
  const char *name;
  int64_t C, I, H, Hkv, D, V, B, T;
  int64_t rows() const { return B * T; }
};
constexpr Layer kLayers[] = {
    {"small", 64, 176, 4, 2, 16, 512, 2, 128},
    {"small", 64, 176, 4, 2, 16, 512, 8, 128},
    {"medium", 512, 1408, 8, 4, 64, 4096, 2, 256},
    {"medium", 512, 1408, 8, 4, 64, 4096, 8, 256},
    {"large", 2048, 5632, 16, 8, 128, 16384, 2, 512},
};

enum class Fill { Random, Ids, Half };

struct Operand {
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  Fill fill = Fill::Random;
};

struct Case {
  std::string op;
  std::vector<Operand> inputs, outputs;
  KernelAttrs attrs;
  /// Output i writes input aliasOf[i] in place (adam_step), -1: its own.
  std::vector<int> aliasOf;
  bool bf16Variant = true; // also time it with every f32 operand in bf16
};

std::vector<Case> layerCases(const Layer &l) {
  const int64_t N = l.rows(), B = l.B, T = l.T, D = l.D;
  const std::vector<int64_t> q{B, l.H, T, D}, kv{B, l.Hkv, T, D}, table{T, D};
  const KernelAttrs causal{{"causal", true}}, eps{{"eps", 1e-5}};
  auto f = [](std::vector<int64_t> shape) { return Operand{std::move(shape), DType::F32, Fill::Random}; };
  auto ids = [](std::vector<int64_t> shape) { return Operand{std::move(shape), DType::I32, Fill::Ids}; };
  auto matmul = [&](bool tl, bool tr) {
    // The up projection's shapes in each layout a training step uses:
    // x W^T (forward), dY W (input gradient), dY^T x (weight gradient).
    Case c{"matmul", {}, {}, {{"transpose_lhs", tl}, {"transpose_rhs", tr}}, {}, true};
    if (!tl && tr)
      c.inputs = {f({N, l.C}), f({l.I, l.C})}, c.outputs = {f({N, l.I})};
    else if (!tl && !tr)
      c.inputs = {f({N, l.I}), f({l.I, l.C})}, c.outputs = {f({N, l.C})};
    else
      c.inputs = {f({N, l.I}), f({N, l.C})}, c.outputs = {f({l.I, l.C})};
    return c;
  };
  const int64_t blocks = (N * l.I + (int64_t(1) << 16) - 1) >> 16;
  KernelAttrs adam{{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8},
                   {"weight_decay", 0.01}, {"max_grad_norm", 1.0}};
  std::vector<Case> cases = {
      matmul(false, true), matmul(false, false), matmul(true, false),
      {"attention", {f(q), f(kv), f(kv)}, {f(q)}, causal, {}, true},
      {"attention_grad", {f(q), f(kv), f(kv), f(q)}, {f(q), f(kv), f(kv)}, causal, {}, true},
      {"rms_norm", {f({N, l.C}), f({l.C})}, {f({N, l.C})}, eps, {}, true},
      {"rms_norm_grad", {f({N, l.C}), f({l.C}), f({N, l.C})}, {f({N, l.C}), f({l.C})}, eps, {}, true},
      {"rope", {f(q), f(table), f(table)}, {f(q)}, {}, {}, true},
      {"rope_grad", {f(q), f(table), f(table)}, {f(q)}, {}, {}, true},
      {"swiglu", {f({N, l.I}), f({N, l.I})}, {f({N, l.I})}, {}, {}, true},
      {"swiglu_grad", {f({N, l.I}), f({N, l.I}), f({N, l.I})}, {f({N, l.I}), f({N, l.I})}, {}, {}, true},
      {"add", {f({N, l.C}), f({N, l.C})}, {f({N, l.C})}, {}, {}, true},
      {"transpose", {f({B, T, l.H, D})}, {f({B, l.H, T, D})}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}}, {}, true},
      {"cast", {f({N, l.I})}, {Operand{{N, l.I}, DType::BF16, Fill::Random}}, {}, {}, false},
      {"cast", {Operand{{N, l.I}, DType::BF16, Fill::Random}}, {f({N, l.I})}, {}, {}, false},
      {"norm_partial", {f({N, l.I})}, {Operand{{blocks}, DType::F64, Fill::Random}}, {}, {}, true},
      {"cross_entropy", {f({N, l.V}), ids({N})}, {f({})}, {}, {}, true},
      {"cross_entropy_grad", {f({N, l.V}), ids({N}), f({})}, {f({N, l.V})}, {}, {}, true},
      {"embedding", {f({l.V, l.C}), ids({N})}, {f({N, l.C})}, {}, {}, true},
      {"embedding_grad", {ids({N}), f({N, l.C})}, {f({l.V, l.C})}, {{"vocab_size", AttrValue(l.V)}}, {}, true},
      {"adam_step",
       {f({l.I, l.C}), f({l.I, l.C}), f({l.I, l.C}), Operand{{l.I, l.C}, DType::F32, Fill::Half},
        Operand{{}, DType::F32, Fill::Half}},
       {f({l.I, l.C}), f({l.I, l.C}), f({l.I, l.C})}, adam, {0, 2, 3}, false},
  };
  return cases;
}

Case asBf16(Case c) {
  for (auto *list : {&c.inputs, &c.outputs})
    for (Operand &o : *list)
      if (o.dtype == DType::F32 && !o.shape.empty())
        o.dtype = DType::BF16;
  return c;
}

int64_t elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

uint64_t workOf(const Case &c, uint64_t bytes) {
  if (c.op == "matmul") {
    const auto &lhs = c.inputs[0].shape;
    bool tl = std::get<bool>(c.attrs.values().at("transpose_lhs"));
    return work::matmulFlops(uint64_t(elements(c.outputs[0].shape)),
                             uint64_t(lhs[tl ? lhs.size() - 2 : lhs.size() - 1]));
  }
  if (c.op == "attention" || c.op == "attention_grad") {
    const auto &q = c.inputs[0].shape, &k = c.inputs[1].shape, &v = c.inputs[2].shape;
    return work::attentionFlops(c.op == "attention_grad", uint64_t(q[0] * q[1] * q[2] * k[2]),
                                uint64_t(q[3]), uint64_t(v[3]));
  }
  return bytes;
}

std::string keyOf(const Case &c) {
  // The first operand that is not integer ids, as the simulator looks it up.
  const char *dtype = "f32";
  for (const Operand &o : c.inputs)
    if (o.dtype != DType::I32 && o.dtype != DType::I64) {
      dtype = dtypeName(o.dtype);
      break;
    }
  if (c.op == "matmul")
    return work::kernelTimeKey(c.op, dtype,
                               std::get<bool>(c.attrs.values().at("transpose_lhs")),
                               std::get<bool>(c.attrs.values().at("transpose_rhs")));
  return work::kernelTimeKey(c.op, dtype);
}

/// Seconds per call of `c` on `b`, or a negative number when the backend's
/// table does not take it (the op, or these dtypes).
double timeCase(backend::Backend &b, const Case &c, const Layer &layer, double minSeconds,
                uint64_t &bytes) {
  std::vector<TensorArg> in, out;
  for (const Operand &o : c.inputs)
    in.push_back({nullptr, o.shape, o.dtype});
  for (const Operand &o : c.outputs)
    out.push_back({nullptr, o.shape, o.dtype});
  std::unique_ptr<backend::BoundKernel> kernel;
  try {
    kernel = std::make_unique<backend::BoundKernel>(b.kernels(StreamKind::Compute),
                                                    c.op, in, out, c.attrs);
  } catch (const std::invalid_argument &) {
    return -1.0;
  }
  auto aligned = [](uint64_t n) { return (n + 255) / 256 * 256; };
  std::vector<uint64_t> offsets;
  uint64_t size = 0;
  bytes = 0;
  for (const TensorArg &t : in) {
    offsets.push_back(size);
    size += aligned(std::max<uint64_t>(t.bytes(), 1));
    bytes += t.bytes();
  }
  for (size_t i = 0; i < out.size(); ++i) {
    bytes += out[i].bytes();
    offsets.push_back(size);
    if (i >= c.aliasOf.size() || c.aliasOf[i] < 0)
      size += aligned(std::max<uint64_t>(out[i].bytes(), 1));
  }
  const uint64_t workspaceOffset = size;
  size += std::max<uint64_t>(kernel->workspaceBytes(), 256);
  backend::ArenaRequest request;
  request.label = "arena 'calibrate " + c.op + "'";
  request.size = size;
  std::unique_ptr<backend::Arena> arena = b.allocateArena(request);
  std::byte *base = arena->data();
  std::mt19937 rng(11);
  std::vector<void *> inputs, outputs;
  for (size_t i = 0; i < in.size(); ++i) {
    const Operand &o = c.inputs[i];
    const size_t n = size_t(elements(o.shape));
    std::vector<std::byte> host(in[i].bytes());
    if (o.fill == Fill::Ids) {
      std::uniform_int_distribution<int32_t> id(0, int32_t(layer.V - 1));
      for (size_t j = 0; j < n; ++j) {
        int32_t v = id(rng);
        std::memcpy(host.data() + j * 4, &v, 4);
      }
    } else {
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (size_t j = 0; j < n; ++j) {
        float v = o.fill == Fill::Half ? 0.5f : u(rng);
        if (o.dtype == DType::BF16) {
          uint16_t h = floatToBf16(v);
          std::memcpy(host.data() + j * 2, &h, 2);
        } else if (o.dtype == DType::F64) {
          double d = v;
          std::memcpy(host.data() + j * 8, &d, 8);
        } else {
          std::memcpy(host.data() + j * 4, &v, 4);
        }
      }
    }
    b.upload(base + offsets[i], host.data(), host.size());
    inputs.push_back(base + offsets[i]);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    bool alias = i < c.aliasOf.size() && c.aliasOf[i] >= 0;
    outputs.push_back(alias ? inputs[size_t(c.aliasOf[i])] : base + offsets[in.size() + i]);
  }
  std::span<std::byte> workspace(base + workspaceOffset, kernel->workspaceBytes());
  std::unique_ptr<backend::Stream> stream =
      b.createStream(StreamKind::Compute, "calibrate " + c.op);
  backend::StepContext step;
  auto call = [&] {
    b.launch(*stream, *kernel, inputs, outputs, workspace, step);
    b.synchronize(*stream);
  };
  call(); // first touch, lazily built tables
  // In a training step a kernel's operands were last touched by other
  // kernels and the pool's threads were idle in between: each timed call
  // follows a pass over a buffer larger than the caches, and the median of
  // the calls is kept (a hot loop over one kernel measures the cache and
  // spinning threads instead, up to 4x faster on small shapes).
  static std::vector<uint64_t> evict(size_t(8) << 17); // 8 MiB
  std::vector<double> seconds;
  double total = 0.0;
  while ((total < minSeconds || seconds.size() < 5) && seconds.size() < 2000) {
    for (uint64_t &word : evict)
      word += 1;
    auto start = Clock::now();
    call();
    seconds.push_back(secondsSince(start));
    total += seconds.back();
  }
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  return seconds[seconds.size() / 2];
}

} // namespace

Json measureKernelTimes(backend::Backend &b, const KernelTimesOptions &o) {
  std::map<std::string, std::pair<bool, std::map<uint64_t, double>>> curves;
  const size_t sizes = o.quick ? 3 : std::size(kLayers);
  for (size_t s = 0; s < sizes; ++s) {
    const Layer &layer = kLayers[s];
    size_t timed = 0;
    for (const Case &base : layerCases(layer)) {
      std::vector<Case> variants{base};
      if (base.bf16Variant)
        variants.push_back(asBf16(base));
      for (const Case &c : variants) {
        uint64_t bytes = 0;
        double seconds = timeCase(b, c, layer, o.minSeconds, bytes);
        if (seconds < 0)
          continue;
        auto &[byFlops, points] = curves[keyOf(c)];
        byFlops = work::timedByFlops(c.op);
        uint64_t w = workOf(c, bytes);
        auto it = points.find(w);
        points[w] = it == points.end() ? seconds : std::min(it->second, seconds);
        ++timed;
      }
    }
    if (o.progress)
      o.progress("kernel times, " + std::string(layer.name) + " layer (hidden " +
                 std::to_string(layer.C) + ", " + std::to_string(layer.rows()) + " rows): " +
                 std::to_string(timed) + " kernels timed");
  }
  Json ops = Json::object();
  for (const auto &[key, curve] : curves) {
    Json points = Json::array();
    for (const auto &[w, seconds] : curve.second)
      points.push_back(Json::array({w, seconds}));
    ops[key] = {{"work", curve.first ? "flops" : "bytes"}, {"points", points}};
  }
  return {{"source", o.source + ": the " + b.name() +
                         " backend's own kernels (its compute-stream table) on a Llama layer's "
                         "shapes: hidden 64 (256 and 1024 rows), 512 (512 and 2048 rows), 2048 "
                         "(1024 rows); seconds per call, the median of calls each after a pass "
                         "over 8 MiB (operands out of cache, as in a step); work is FLOPs for matmul and attention, bytes "
                         "read + written for the rest (runtime/common/KernelWork.h)"},
          {"ops", ops}};
}

} // namespace off::calibrate
