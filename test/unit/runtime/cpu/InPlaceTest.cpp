// The aliasing runtime/cpu/README.md allows (an output in the memory of an
// input, for buffer reuse by the planner) gives the same bits as distinct
// buffers.
#include "runtime/cpu/CpuBackend.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"
#include "test/unit/runtime/cpu/RopeTables.h"

#include <gtest/gtest.h>

using namespace off::test;
using off::backend::AttrValue;
using off::backend::KernelAttrs;
using off::backend::TensorArg;

namespace {

struct Alias {
  size_t output, input;
};

// Runs op twice: with separate outputs, and with output `alias.output` in
// the storage of input `alias.input`; the results must be bit-identical.
void expectInPlaceSame(const std::string &op, std::vector<HostTensor> inputs,
                       const std::vector<OutSpec> &outputs, Alias alias,
                       const KernelAttrs &attrs = {}) {
  std::vector<HostTensor> separate = runOp(off::cpu::cpuBackend(), op, inputs, outputs, attrs);
  std::vector<TensorArg> in, out;
  for (HostTensor &t : inputs)
    in.push_back({t.bytes.data(), t.shape, t.dtype});
  std::vector<HostTensor> results;
  for (const OutSpec &spec : outputs)
    results.emplace_back(spec.shape, spec.dtype);
  for (size_t i = 0; i < outputs.size(); ++i)
    out.push_back({i == alias.output ? inputs[alias.input].bytes.data() : results[i].bytes.data(),
                   outputs[i].shape, outputs[i].dtype});
  off::cpu::cpuKernels().call(op, in, out, attrs);
  results[alias.output].bytes = inputs[alias.input].bytes;
  for (size_t i = 0; i < outputs.size(); ++i)
    EXPECT_TRUE(sameBits(results[i], separate[i]))
        << op << ": output " << i << " with output " << alias.output << " in input "
        << alias.input;
}

TEST(InPlace, DocumentedAliasesGiveTheSameBits) {
  std::mt19937 rng(91);
  HostTensor x = randomF32({37, 70}, rng, -3, 3), w = randomF32({70}, rng);
  HostTensor y = randomF32({37, 70}, rng), dy = randomF32({37, 70}, rng);
  expectInPlaceSame("rms_norm", {x, w}, {{x.shape}}, {0, 0}, {{"eps", 1e-5}});
  expectInPlaceSame("softmax", {x}, {{x.shape}}, {0, 0}, {{"axis", AttrValue(int64_t(1))}});
  expectInPlaceSame("softmax_grad", {y, dy}, {{x.shape}}, {0, 0}, {{"axis", AttrValue(int64_t(1))}});
  expectInPlaceSame("softmax_grad", {y, dy}, {{x.shape}}, {0, 1}, {{"axis", AttrValue(int64_t(1))}});
  for (const char *op : {"neg", "exp", "silu", "sigmoid"})
    expectInPlaceSame(op, {x}, {{x.shape}}, {0, 0});
  expectInPlaceSame("add", {x, w}, {{x.shape}}, {0, 0});
  expectInPlaceSame("mul", {w, x}, {{x.shape}}, {0, 1});
  expectInPlaceSame("swiglu", {x, y}, {{x.shape}}, {0, 0});
  expectInPlaceSame("swiglu", {x, y}, {{x.shape}}, {0, 1});
  expectInPlaceSame("swiglu_grad", {x, y, dy}, {{x.shape}, {x.shape}}, {0, 0});
  expectInPlaceSame("swiglu_grad", {x, y, dy}, {{x.shape}, {x.shape}}, {1, 2});
  HostTensor targets = randomIds({37}, 70, rng);
  expectInPlaceSame("cross_entropy_grad", {x, targets, f32Tensor({}, {1.0})}, {{x.shape}}, {0, 0});
  HostTensor q = randomF32({2, 3, 5, 8}, rng);
  RopeTables tables = ropeTables(5, 8, 10000.0);
  expectInPlaceSame("rope", {q, tables.cos, tables.sin}, {{q.shape}}, {0, 0});
  expectInPlaceSame("rope_grad", {q, tables.cos, tables.sin}, {{q.shape}}, {0, 0});
  expectInPlaceSame("reshape", {x}, {{{70, 37}}}, {0, 0});
}

} // namespace
