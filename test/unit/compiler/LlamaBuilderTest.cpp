// The built-in Llama: parameter counts against the figures the model cards
// publish, Hugging Face names, and the RoPE tables against an independent
// evaluation of the formulas.

#include "compiler/Import/LlamaBuilder.h"
#include "compiler/Import/LlamaRope.h"
#include "compiler/Import/ModelStats.h"
#include "dialects/off/IR/OffDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::off;

namespace {

LlamaConfig named(const std::string &name) {
  auto config = loadNamedLlamaConfig(name);
  if (!config) {
    ADD_FAILURE() << llvm::toString(config.takeError());
    return {};
  }
  return *config;
}

OwningOpRef<ModuleOp> build(MLIRContext &context, const LlamaConfig &config,
                            int64_t batch, int64_t seq) {
  auto module = buildLlamaModule(context, config, batch, seq);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return {};
  }
  return std::move(*module);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> params(ModuleOp module) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> result;
  module.walk([&](ParamOp param) {
    auto shape = param.getResult().getType().getShape();
    result.emplace_back(param.getName().str(),
                        std::vector<int64_t>(shape.begin(), shape.end()));
  });
  return result;
}

struct Published {
  const char *size;
  int64_t parameters;
};

// From the model cards / papers (Llama 2, Llama 3.1, Llama 3.2).
const Published kPublished[] = {
    {"llama2-7b", 6'738'415'616},      {"llama2-13b", 13'015'864'320},
    {"llama2-70b", 68'976'648'192},    {"llama3.1-8b", 8'030'261'248},
    {"llama3.1-70b", 70'553'706'496},  {"llama3.1-405b", 405'853'388'800},
    {"llama3.2-1b", 1'235'814'400},    {"llama3.2-3b", 3'212'749'824},
};

TEST(LlamaBuilder, ParameterCountsOfNamedSizesMatchPublishedFigures) {
  for (const Published &published : kPublished) {
    MLIRContext context;
    LlamaConfig config = named(published.size);
    OwningOpRef<ModuleOp> module = build(context, config, 1, 4);
    ASSERT_TRUE(module) << published.size;
    ModelStats stats = llvm::cantFail(computeModelStats(*module));
    EXPECT_EQ(stats.parameters, published.parameters) << published.size;
    EXPECT_EQ(stats.trainableParameters, published.parameters) << published.size;
    EXPECT_EQ(config.parameterCount(), published.parameters) << published.size;
    EXPECT_EQ(stats.layers, config.numLayers) << published.size;
  }
}

TEST(LlamaBuilder, ParamsCarryHuggingFaceNamesAndShapes) {
  MLIRContext context;
  LlamaConfig config = named("tiny");
  OwningOpRef<ModuleOp> module = build(context, config, 2, 8);
  ASSERT_TRUE(module);
  // LlamaForCausalLM's state_dict for hidden 64, intermediate 172, 4 heads of
  // 16, 2 key/value heads, vocab 256, untied.
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"model.embed_tokens.weight", {256, 64}}};
  for (int layer = 0; layer < 2; ++layer) {
    std::string p = "model.layers." + std::to_string(layer) + ".";
    std::vector<std::pair<std::string, std::vector<int64_t>>> block = {
        {p + "input_layernorm.weight", {64}},
        {p + "self_attn.q_proj.weight", {64, 64}},
        {p + "self_attn.k_proj.weight", {32, 64}},
        {p + "self_attn.v_proj.weight", {32, 64}},
        {p + "self_attn.o_proj.weight", {64, 64}},
        {p + "post_attention_layernorm.weight", {64}},
        {p + "mlp.gate_proj.weight", {172, 64}},
        {p + "mlp.up_proj.weight", {172, 64}},
        {p + "mlp.down_proj.weight", {64, 172}}};
    expected.insert(expected.end(), block.begin(), block.end());
  }
  expected.push_back({"model.norm.weight", {64}});
  expected.push_back({"lm_head.weight", {256, 64}});
  EXPECT_EQ(params(*module), expected);
  module->walk([](ParamOp param) { EXPECT_TRUE(param.getTrainable()); });
}

TEST(LlamaBuilder, TiedEmbeddingsReuseTheTableForLogits) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module = build(context, named("llama3.2-1b"), 1, 4);
  ASSERT_TRUE(module);
  for (auto &[name, shape] : params(*module))
    EXPECT_NE(name, "lm_head.weight");
  module->walk([&](Operation *op) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      auto logits = ret.getOperand(0).getDefiningOp<MatmulOp>();
      ASSERT_TRUE(logits);
      auto table = logits.getRhs().getDefiningOp<ParamOp>();
      ASSERT_TRUE(table);
      EXPECT_EQ(table.getName(), "model.embed_tokens.weight");
      EXPECT_EQ(logits.getResult().getType().getShape(),
                (ArrayRef<int64_t>{1, 4, 128256}));
    }
  });
}

TEST(LlamaBuilder, HeadDimShapesTheProjections) {
  // Llama 3.2 3B: 24 heads of 128 over hidden 3072; a config with head_dim
  // different from hidden/heads gets q/o projections of heads*head_dim.
  auto config = parseLlamaConfig(
      R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
          "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
          "vocab_size": 100})",
      "head_dim.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  MLIRContext context;
  OwningOpRef<ModuleOp> module = build(context, *config, 1, 8);
  ASSERT_TRUE(module);
  for (auto &[name, shape] : params(*module)) {
    if (name.ends_with("q_proj.weight")) {
      EXPECT_EQ(shape, (std::vector<int64_t>{128, 64}));
    } else if (name.ends_with("k_proj.weight")) {
      EXPECT_EQ(shape, (std::vector<int64_t>{64, 64}));
    } else if (name.ends_with("o_proj.weight")) {
      EXPECT_EQ(shape, (std::vector<int64_t>{64, 128}));
    }
  }
}

TEST(LlamaBuilder, ForwardFlopsFollowTheDocumentedConvention) {
  MLIRContext context;
  LlamaConfig config = named("tiny");
  const int64_t batch = 2, seq = 8;
  OwningOpRef<ModuleOp> module = build(context, config, batch, seq);
  ASSERT_TRUE(module);
  ModelStats stats = llvm::cantFail(computeModelStats(*module));
  // Every Linear weight (and lm_head) multiplies each of the B*T tokens once.
  int64_t linear = 2 * (64 * 64 + 32 * 64 + 32 * 64 + 64 * 64 + 3 * 172 * 64) +
                   256 * 64;
  EXPECT_EQ(stats.flopsMatmul, uint64_t(2 * batch * seq * linear));
  // Full (non-causal) QK^T and PV per layer: 2 * B*H*T*T * (D + D).
  EXPECT_EQ(stats.flopsAttention, uint64_t(2 * 2 * batch * 4 * seq * seq * 32));
  EXPECT_GT(stats.flopsElementwise, 0u);
  EXPECT_EQ(stats.flopsForward,
            stats.flopsMatmul + stats.flopsAttention + stats.flopsElementwise);
  EXPECT_EQ(stats.opCounts["off.matmul"], 15);
  EXPECT_EQ(stats.opCounts["off.attention"], 2);
  EXPECT_EQ(stats.opCounts["off.rope"], 4);
  EXPECT_EQ(stats.opCounts["off.rms_norm"], 5);
  ASSERT_EQ(stats.inputs.size(), 1u);
  EXPECT_EQ(stats.inputs[0].name, "input_ids");
  EXPECT_EQ(stats.inputs[0].shape, (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(stats.inputs[0].elementType, "i32");
}

//===----------------------------------------------------------------------===//
// RoPE tables, against the formulas evaluated independently in long double
//===----------------------------------------------------------------------===//

// inv_freq as Meta's Llama 3.1 reference states it: wavelengths shorter than
// original/high_freq_factor kept, longer than original/low_freq_factor
// divided by factor, interpolated in between.
long double referenceInvFreq(const LlamaConfig &config, int64_t i,
                             int *regime = nullptr) {
  long double freq =
      std::exp(-(2.0L * i / config.headDim) * std::log((long double)config.ropeTheta));
  if (regime)
    *regime = 0;
  if (!config.llama3Scaling)
    return freq;
  const auto &s = *config.llama3Scaling;
  long double pi = std::acos(-1.0L);
  long double wavelen = 2 * pi / freq;
  long double highWavelen = s.originalMaxPositions / (long double)s.highFreqFactor;
  long double lowWavelen = s.originalMaxPositions / (long double)s.lowFreqFactor;
  if (wavelen < highWavelen)
    return freq;
  if (wavelen > lowWavelen) {
    if (regime)
      *regime = 2;
    return freq / s.factor;
  }
  if (regime)
    *regime = 1;
  long double smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) /
                       (s.highFreqFactor - s.lowFreqFactor);
  return (1 - smooth) * freq / s.factor + smooth * freq;
}

TEST(LlamaRope, TinyTablesMatchHandValues) {
  LlamaConfig config = named("tiny"); // D = 16, theta = 10000
  RopeTables tables = llamaRopeTables(config, 4);
  ASSERT_EQ(tables.cos.size(), 4u * 16u);
  // Position 0: no rotation.
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(tables.cos[j], 1.0f);
    EXPECT_EQ(tables.sin[j], 0.0f);
  }
  // Position 1, frequency 0 (1 rad) in both halves: cos 1, sin 1.
  EXPECT_FLOAT_EQ(tables.cos[16 + 0], 0.54030230586813977f);
  EXPECT_FLOAT_EQ(tables.sin[16 + 8], 0.84147098480789651f);
  // Position 3, frequency 1: 3 * 10000^(-1/8) = 3 * 0.31622776601683794 rad.
  EXPECT_FLOAT_EQ(tables.cos[3 * 16 + 1], 0.58275361070222490f);
  EXPECT_FLOAT_EQ(tables.sin[3 * 16 + 9], 0.81264889664203680f);
}

TEST(LlamaRope, TablesMatchTheFormulaForAllSizes) {
  for (const char *size : {"tiny", "llama2-7b", "llama3.1-8b", "llama3.2-1b"}) {
    LlamaConfig config = named(size);
    const int64_t seq = 300, dim = config.headDim;
    RopeTables tables = llamaRopeTables(config, seq);
    for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{299}}) {
      for (int64_t j = 0; j < dim; j += 5) {
        long double angle = t * referenceInvFreq(config, j % (dim / 2));
        EXPECT_NEAR(tables.cos[t * dim + j], (double)std::cos(angle), 1e-7)
            << size << " t=" << t << " j=" << j;
        EXPECT_NEAR(tables.sin[t * dim + j], (double)std::sin(angle), 1e-7)
            << size << " t=" << t << " j=" << j;
      }
    }
  }
}

TEST(LlamaRope, Llama3ScalingCoversAllThreeBands) {
  LlamaConfig config = named("llama3.1-8b");
  std::vector<double> invFreq = llamaInverseFrequencies(config);
  ASSERT_EQ(invFreq.size(), 64u);
  int seen[3] = {0, 0, 0};
  for (int64_t i = 0; i < 64; ++i) {
    int regime = 0;
    long double expected = referenceInvFreq(config, i, &regime);
    seen[regime] += 1;
    EXPECT_NEAR(invFreq[i] / (double)expected, 1.0, 1e-12) << "i=" << i;
  }
  // The test means something only if kept, blended and divided all occur.
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
  // The lowest frequency is the unscaled one divided by factor 8.
  EXPECT_NEAR(invFreq[63], std::pow(500000.0, -126.0 / 128.0) / 8.0, 1e-18);
}

TEST(LlamaRope, ModuleConstantsAreTheTables) {
  MLIRContext context;
  LlamaConfig config = named("llama3.2-1b");
  OwningOpRef<ModuleOp> module = build(context, config, 1, 16);
  ASSERT_TRUE(module);
  RopeTables tables = llamaRopeTables(config, 16);
  std::vector<std::vector<float>> constants;
  module->walk([&](ConstantOp constant) {
    auto values = cast<DenseElementsAttr>(constant.getValue()).getValues<float>();
    constants.emplace_back(values.begin(), values.end());
  });
  ASSERT_EQ(constants.size(), 2u);
  EXPECT_EQ(constants[0], tables.cos);
  EXPECT_EQ(constants[1], tables.sin);
}

//===----------------------------------------------------------------------===//
// Errors from the builder
//===----------------------------------------------------------------------===//

TEST(LlamaBuilder, SequenceBeyondMaxPositionsIsRefused) {
  MLIRContext context;
  auto module = buildLlamaModule(context, named("tiny"), 1, 257);
  ASSERT_FALSE(bool(module));
  std::string message = llvm::toString(module.takeError());
  EXPECT_NE(message.find("tiny.json"), std::string::npos) << message;
  EXPECT_NE(message.find("max_position_embeddings"), std::string::npos) << message;
}

} // namespace
