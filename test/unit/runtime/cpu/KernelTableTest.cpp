// The kernel table: it covers every computational op of the off dialect
// (read from the dialect's .td files, so a new op fails this test until the
// CPU backend has its kernel), and bad calls fail with messages that name
// the op, the argument and the problem.
#include "runtime/cpu/CpuBackend.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace off::test;
using off::backend::AttrValue;
using off::backend::KernelAttrs;
using off::backend::TensorArg;

namespace {

// Ops that are not kernels: sources (param, state, constant), memory-level and collective ops the
// executor handles itself. adam_step is one: runtime/optim's host optimizer table, which the CPU
// backend's table includes.
const std::set<std::string> kNotKernels = {
    "param", "state", "constant", "offload", "prefetch", "wait", "record", "free",
    "recompute", "yield", "all_gather", "reduce_scatter"};

std::set<std::string> dialectOps() {
  std::set<std::string> ops;
  // `def Off_AddOp : Off_BinaryOp<"add", ...>` and `def Off_RopeOp : Off_Op<"rope", ...`
  const std::regex def(R"re(def\s+Off_\w+\s*:\s*Off_\w+<\s*"(\w+)")re");
  for (const char *file : {"OffOps.td", "OffGradOps.td"}) {
    std::ifstream in(std::string(OFF_SOURCE_DIR) + "/dialects/off/IR/" + file);
    EXPECT_TRUE(in) << "cannot read dialects/off/IR/" << file;
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), def); it != std::sregex_iterator(); ++it)
      ops.insert((*it)[1]);
  }
  return ops;
}

TEST(KernelTable, CoversEveryComputationalOpOfTheDialect) {
  std::set<std::string> ops = dialectOps();
  ASSERT_GT(ops.size(), 40u) << "the .td files were not parsed";
  const auto &table = off::cpu::cpuKernels();
  for (const std::string &op : ops)
    if (!kNotKernels.count(op))
      EXPECT_NE(table.find(op), nullptr) << "no CPU kernel for off." << op;
  // And nothing registered that the dialect does not have.
  for (const std::string &name : table.ops())
    EXPECT_TRUE(ops.count(name)) << "kernel '" << name << "' is not an off op";
}

// Runs op with host pointers and returns the message of what it throws.
std::string errorOf(const std::string &op, std::vector<HostTensor> inputs,
                    std::vector<OutSpec> outputs, KernelAttrs attrs = {}) {
  try {
    runOp(off::cpu::cpuBackend(), op, inputs, outputs, attrs);
  } catch (const std::exception &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(KernelTable, BadCallsNameTheOpAndArgument) {
  std::mt19937 rng(71);
  HostTensor x = randomF32({2, 8}, rng), w = randomF32({7}, rng);
  EXPECT_EQ(errorOf("rms_norm", {x, w}, {{{2, 8}}}, {{"eps", 1e-5}}),
            "rms_norm: weight must have shape [8], got f32[7]");
  EXPECT_EQ(errorOf("rms_norm", {x, randomF32({8}, rng)}, {{{2, 8}}}),
            "rms_norm: attribute 'eps' is missing");
  EXPECT_EQ(errorOf("rms_norm", {x, randomF32({8}, rng)}, {{{2, 8}}}, {{"eps", AttrValue("x")}}),
            "rms_norm: attribute 'eps' must be a number");
  EXPECT_EQ(errorOf("matmul", {randomF32({3, 4}, rng), randomF32({5, 6}, rng)}, {{{3, 6}}}),
            "matmul: contraction dimensions differ: f32[3, 4] and f32[5, 6]");
  EXPECT_EQ(errorOf("attention",
                    {randomF32({1, 3, 4, 8}, rng), randomF32({1, 2, 4, 8}, rng),
                     randomF32({1, 2, 4, 8}, rng)},
                    {{{1, 3, 4, 8}}}),
            "attention: query heads (3) must be a multiple of key/value heads (2)");
  EXPECT_EQ(errorOf("attention",
                    {randomF32({1, 2, 5, 8}, rng), randomF32({1, 2, 4, 8}, rng),
                     randomF32({1, 2, 4, 8}, rng)},
                    {{{1, 2, 5, 8}}}, {{"causal", true}}),
            "attention: causal attention needs query length <= key length, got f32[1, 2, 5, 8] "
            "and f32[1, 2, 4, 8]");
  EXPECT_EQ(errorOf("swiglu", {x, x}, {{{2, 8}, DType::F16}}),
            "swiglu: result must be f32 on the CPU backend, got f16[2, 8]");
  EXPECT_EQ(errorOf("add", {x, randomF32({3}, rng)}, {{{2, 8}}}),
            "add: operand shapes f32[2, 8] and f32[3] do not broadcast");
  EXPECT_EQ(errorOf("softmax", {x}, {{{2, 8}}}, {{"axis", AttrValue(int64_t(2))}}),
            "softmax: axis = 2 is out of range for rank 2");
  EXPECT_EQ(errorOf("add", {x}, {{{2, 8}}}), "add: takes 2 input(s), got 1");
  EXPECT_EQ(errorOf("conv2d", {x}, {{{2, 8}}}), "the cpu backend has no kernel for 'conv2d'");
  EXPECT_EQ(errorOf("cast", {x}, {{{2, 8}, DType::F16}}),
            "cast: casting f32 to f16 is not supported by the CPU backend");
}

TEST(KernelTable, DataErrorsNameThePosition) {
  std::mt19937 rng(72);
  HostTensor table = randomF32({10, 4}, rng);
  EXPECT_EQ(errorOf("embedding", {table, indexTensor({2, 2}, {1, 2, 10, -1}, DType::I32)},
                    {{{2, 2, 4}}}),
            "embedding: id 10 at position 2 is outside the vocabulary [0, 10)");
  EXPECT_EQ(errorOf("cross_entropy",
                    {randomF32({3, 5}, rng), indexTensor({3}, {0, -2, 9}, DType::I64)}, {{{}}}),
            "cross_entropy: target -2 at position 1 is outside the vocabulary [0, 5)");
  EXPECT_EQ(errorOf("gather", {table, indexTensor({2}, {3, -11}, DType::I64)}, {{{2, 4}}},
                    {{"axis", AttrValue(int64_t(0))}}),
            "gather: index -11 at position 1 is outside [-10, 10)");
}

TEST(KernelTable, ValidateChecksWithoutRunning) {
  const auto &table = off::cpu::cpuKernels();
  float x[4] = {1, 2, 3, 4}, w[2] = {1, 1}, y[4] = {7, 7, 7, 7};
  std::vector<TensorArg> in = {{x, {2, 2}}, {w, {2}}}, out = {{y, {2, 2}}};
  table.validate("rms_norm", in, out, {{"eps", 1e-6}});
  for (float v : y)
    EXPECT_EQ(v, 7.0f);
  table.call("rms_norm", in, out, {{"eps", 1e-6}});
  EXPECT_NE(y[0], 7.0f);
  std::vector<TensorArg> wrong = {{y, {4}}};
  EXPECT_THROW(table.validate("rms_norm", in, wrong, {{"eps", 1e-6}}), std::invalid_argument);
}

TEST(KernelTable, BoundKernelValidatesOnceWithoutPointers) {
  const auto &table = off::cpu::cpuKernels();
  // As a plan loader binds an instruction: shapes and attributes, no memory yet.
  off::backend::BoundKernel bound(table, "rms_norm", {{nullptr, {2, 2}}, {nullptr, {2}}},
                                  {{nullptr, {2, 2}}}, {{"eps", 1e-6}});
  float x[4] = {3, 4, 0, 2}, w[2] = {1, 2}, y[4];
  void *in[] = {x, w}, *out[] = {y};
  bound.run(in, out);
  // Row 0: r = 1/sqrt((9 + 16)/2 + 1e-6).
  EXPECT_NEAR(y[0], 3 / std::sqrt(12.5 + 1e-6), 1e-6);
  EXPECT_NEAR(y[1], 2 * 4 / std::sqrt(12.5 + 1e-6), 1e-6);
  void *missing[] = {x, nullptr};
  EXPECT_THROW(bound.run(missing, out), std::invalid_argument);
  EXPECT_THROW(bound.run(std::span<void *const>(in, 1), out), std::invalid_argument);
  EXPECT_THROW(off::backend::BoundKernel(table, "rms_norm", {{nullptr, {2, 2}}, {nullptr, {3}}},
                                         {{nullptr, {2, 2}}}, {{"eps", 1e-6}}),
               std::invalid_argument);
}

TEST(KernelTable, AttributesConvertOnlyWhereSafe) {
  KernelAttrs attrs{{"n", AttrValue(int64_t(3))}, {"f", 0.5}, {"b", true},
                    {"ints", AttrValue(std::vector<int64_t>{1, 2})}};
  EXPECT_EQ(attrs.getInt("n"), 3);
  EXPECT_EQ(attrs.getFloat("n"), 3.0); // an integer is a number
  EXPECT_EQ(attrs.getFloat("f"), 0.5);
  EXPECT_THROW(attrs.getInt("f"), std::invalid_argument);
  EXPECT_TRUE(attrs.getBool("b"));
  EXPECT_FALSE(attrs.getBool("absent"));
  EXPECT_EQ(attrs.getInt("absent", 9), 9);
  EXPECT_EQ(attrs.getInts("ints"), (std::vector<int64_t>{1, 2}));
  EXPECT_THROW(attrs.getInts("n"), std::invalid_argument);
}

} // namespace
