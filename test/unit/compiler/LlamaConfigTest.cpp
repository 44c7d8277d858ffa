// config.json reading: the accepted layouts, and an error naming the file and
// the field for everything we do not build.

#include "compiler/Import/LlamaConfig.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using namespace mlir::off;

namespace {

// A minimal valid config with `extra` spliced in (a leading comma included).
std::string configWith(const std::string &extra) {
  return R"({"hidden_size": 64, "intermediate_size": 172,
             "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "vocab_size": 256)" +
         extra + "}";
}

// The error message of parsing `json`, or "" when it parsed.
std::string parseError(const std::string &json) {
  llvm::Expected<LlamaConfig> config = parseLlamaConfig(json, "cfg.json");
  if (config)
    return "";
  return llvm::toString(config.takeError());
}

std::string errorText(llvm::Error error) {
  return error ? llvm::toString(std::move(error)) : "";
}

// The error names the file and the field.
void expectFieldError(const std::string &json, const std::string &field,
                      const std::string &detail = "") {
  std::string error = parseError(json);
  ASSERT_FALSE(error.empty()) << "parsed: " << json;
  EXPECT_NE(error.find("cfg.json"), std::string::npos) << error;
  EXPECT_NE(error.find("'" + field + "'"), std::string::npos) << error;
  if (!detail.empty()) {
    EXPECT_NE(error.find(detail), std::string::npos) << error;
  }
}

TEST(LlamaConfig, MinimalConfigTakesHuggingFaceDefaults) {
  llvm::Expected<LlamaConfig> config = parseLlamaConfig(configWith(""), "cfg.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->headDim, 16);
  EXPECT_EQ(config->numKvHeads, 2);
  // LlamaConfig's own defaults in transformers.
  EXPECT_DOUBLE_EQ(config->rmsNormEps, 1e-6);
  EXPECT_DOUBLE_EQ(config->ropeTheta, 10000.0);
  EXPECT_EQ(config->maxPositions, 2048);
  EXPECT_FALSE(config->tieWordEmbeddings);
  EXPECT_FALSE(config->llama3Scaling.has_value());
}

TEST(LlamaConfig, KvHeadsDefaultToAttentionHeads) {
  llvm::Expected<LlamaConfig> config = parseLlamaConfig(
      R"({"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": null,
          "vocab_size": 256})",
      "cfg.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->numKvHeads, 4);
}

TEST(LlamaConfig, HeadDimIsHonouredWhenItDiffersFromHiddenOverHeads) {
  llvm::Expected<LlamaConfig> config =
      parseLlamaConfig(configWith(R"(, "head_dim": 32)"), "cfg.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->headDim, 32);
}

TEST(LlamaConfig, TransformersFourAndFiveRopeLayoutsAgree) {
  auto v4 = parseLlamaConfig(configWith(R"(, "rope_theta": 500000.0,
      "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192})"),
                             "v4.json");
  auto v5 = parseLlamaConfig(configWith(R"(, "rope_parameters": {
      "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192})"),
                             "v5.json");
  // Older files spell rope_type as "type".
  auto old = parseLlamaConfig(configWith(R"(, "rope_theta": 500000.0,
      "rope_scaling": {"type": "llama3", "factor": 8.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192})"),
                              "old.json");
  ASSERT_TRUE(bool(v4)) << llvm::toString(v4.takeError());
  ASSERT_TRUE(bool(v5)) << llvm::toString(v5.takeError());
  ASSERT_TRUE(bool(old)) << llvm::toString(old.takeError());
  for (const LlamaConfig *config : {&*v4, &*v5, &*old}) {
    EXPECT_DOUBLE_EQ(config->ropeTheta, 500000.0);
    ASSERT_TRUE(config->llama3Scaling.has_value());
    EXPECT_DOUBLE_EQ(config->llama3Scaling->factor, 8.0);
    EXPECT_DOUBLE_EQ(config->llama3Scaling->lowFreqFactor, 1.0);
    EXPECT_DOUBLE_EQ(config->llama3Scaling->highFreqFactor, 4.0);
    EXPECT_EQ(config->llama3Scaling->originalMaxPositions, 8192);
  }
}

TEST(LlamaConfig, HarmlessHuggingFaceFieldsAreAccepted) {
  EXPECT_EQ(parseError(configWith(R"(, "architectures": ["LlamaForCausalLM"],
      "model_type": "llama", "torch_dtype": "bfloat16", "dtype": "float32",
      "bos_token_id": 128000, "eos_token_id": [128001, 128008],
      "pad_token_id": null, "hidden_act": "silu", "attention_bias": false,
      "mlp_bias": false, "attention_dropout": 0.0, "pretraining_tp": 1,
      "use_cache": true, "transformers_version": "4.43.0",
      "_name_or_path": "x", "rope_scaling": null, "initializer_range": 0.02)")),
            "");
}

TEST(LlamaConfig, UnknownFieldIsAnError) {
  expectFieldError(configWith(R"(, "sliding_window": 4096)"), "sliding_window",
                   "not a Llama config field");
}

TEST(LlamaConfig, RequiredFieldsAreNamed) {
  expectFieldError(R"({"hidden_size": 64, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 4})",
                   "vocab_size", "required");
}

TEST(LlamaConfig, InconsistentHeadsAreErrors) {
  // Key/value heads that do not divide the query heads.
  expectFieldError(R"({"hidden_size": 64, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 3, "vocab_size": 256})",
                   "num_key_value_heads", "does not divide");
  // Heads that do not divide hidden_size, with no head_dim to say otherwise.
  expectFieldError(R"({"hidden_size": 64, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 5,
      "num_key_value_heads": 5, "vocab_size": 256})",
                   "num_attention_heads", "does not divide hidden_size");
  // An odd head dimension cannot be rotated in halves.
  expectFieldError(configWith(R"(, "head_dim": 15)"), "head_dim", "odd");
}

TEST(LlamaConfig, ValuesWeDoNotBuildAreErrors) {
  expectFieldError(configWith(R"(, "hidden_act": "gelu")"), "hidden_act",
                   "\"silu\"");
  expectFieldError(configWith(R"(, "attention_bias": true)"), "attention_bias");
  expectFieldError(configWith(R"(, "mlp_bias": true)"), "mlp_bias");
  expectFieldError(configWith(R"(, "attention_dropout": 0.1)"),
                   "attention_dropout");
  expectFieldError(configWith(R"(, "model_type": "mistral")"), "model_type");
  expectFieldError(configWith(R"(, "architectures": ["LlamaModel"])"),
                   "architectures");
  expectFieldError(
      configWith(R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4.0})"),
      "rope_scaling.rope_type", "yarn");
}

TEST(LlamaConfig, MalformedValuesAreErrors) {
  expectFieldError(R"({"hidden_size": 64.5, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 256})",
                   "hidden_size", "integer");
  expectFieldError(R"({"hidden_size": 0, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 256})",
                   "hidden_size", "out of range");
  expectFieldError(configWith(R"(, "rms_norm_eps": -1e-5)"), "rms_norm_eps",
                   "positive");
  expectFieldError(configWith(R"(, "tie_word_embeddings": "yes")"),
                   "tie_word_embeddings");
  expectFieldError(R"({"hidden_size": 64, "intermediate_size": 172,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1e12})",
                   "vocab_size", "out of range");
}

TEST(LlamaConfig, IncompleteOrMixedRopeFieldsAreErrors) {
  expectFieldError(
      configWith(R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0})"),
      "rope_scaling", "needs factor, low_freq_factor");
  expectFieldError(configWith(R"(, "rope_theta": 10000.0,
      "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0})"),
                   "rope_parameters", "not both");
  expectFieldError(configWith(R"(, "rope_scaling": {"rope_type": "llama3",
      "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0,
      "original_max_position_embeddings": 8192})"),
                   "rope_scaling.high_freq_factor", "larger than");
  expectFieldError(configWith(R"(, "rope_scaling": {"rope_type": "llama3",
      "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192, "beta": 2})"),
                   "rope_scaling.beta");
}

TEST(LlamaConfig, NotJsonOrNotAnObjectIsAnError) {
  std::string error = parseError("{\"hidden_size\": 64,");
  EXPECT_NE(error.find("cfg.json: not valid JSON"), std::string::npos) << error;
  error = parseError("[1, 2]");
  EXPECT_NE(error.find("cfg.json: must be a JSON object"), std::string::npos)
      << error;
}

// Strict JSON before llvm::json (runtime/common/JsonCheck.h): a key given
// twice is refused by name (llvm::json would keep one silently), and a
// 50,000-level document is an error, not a stack overflow in the parser.
TEST(LlamaConfig, DuplicateKeysAndDeepNestingAreErrors) {
  std::string error = parseError(configWith(R"(, "vocab_size": 300)"));
  EXPECT_NE(error.find("cfg.json: not valid JSON: duplicate key 'vocab_size'"),
            std::string::npos)
      << error;
  std::string deep;
  for (int i = 0; i < 50000; ++i)
    deep += "{\"a\":";
  deep += "1" + std::string(50000, '}');
  error = parseError(deep);
  EXPECT_EQ(error, "cfg.json: not valid JSON: nesting deeper than 64 levels");
  error = parseError(std::string(50000, '[') + std::string(50000, ']'));
  EXPECT_EQ(error, "cfg.json: not valid JSON: nesting deeper than 64 levels");
}

TEST(LlamaConfig, SequenceLongerThanMaxPositionsIsAnError) {
  auto config = parseLlamaConfig(
      configWith(R"(, "max_position_embeddings": 256)"), "cfg.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(errorText(checkLlamaInputShape(*config, 2, 256)), "");
  std::string message = errorText(checkLlamaInputShape(*config, 2, 257));
  EXPECT_NE(message.find("cfg.json: field 'max_position_embeddings'"),
            std::string::npos)
      << message;
  EXPECT_NE(errorText(checkLlamaInputShape(*config, 0, 8)), "");
  // Sizes whose tensors would not fit int64 are refused, not wrapped.
  EXPECT_NE(errorText(checkLlamaInputShape(*config, int64_t{1} << 40, 256)), "");
}

TEST(LlamaConfig, MissingFileIsAnErrorNamingIt) {
  auto config = loadLlamaConfigFile("/nonexistent/config.json");
  ASSERT_FALSE(bool(config));
  std::string message = llvm::toString(config.takeError());
  EXPECT_NE(message.find("/nonexistent/config.json: cannot read"),
            std::string::npos)
      << message;
}

TEST(LlamaConfig, NamedSizesAreBuiltIn) {
  std::vector<std::string> sizes = builtinLlamaSizes();
  for (const char *name :
       {"tiny", "llama2-7b", "llama2-13b", "llama2-70b", "llama3.2-1b",
        "llama3.2-3b", "llama3.1-8b", "llama3.1-70b", "llama3.1-405b"}) {
    EXPECT_NE(std::find(sizes.begin(), sizes.end(), name), sizes.end()) << name;
    auto config = loadNamedLlamaConfig(name);
    ASSERT_TRUE(bool(config)) << name << ": " << llvm::toString(config.takeError());
    EXPECT_EQ(config->sizeName, name);
  }
}

TEST(LlamaConfig, UnknownSizeListsTheKnownOnes) {
  auto config = loadNamedLlamaConfig("llama9-1t");
  ASSERT_FALSE(bool(config));
  std::string message = llvm::toString(config.takeError());
  EXPECT_NE(message.find("unknown Llama size 'llama9-1t'"), std::string::npos);
  EXPECT_NE(message.find("llama3.1-405b"), std::string::npos) << message;
  // A size is a name, never a path.
  config = loadNamedLlamaConfig("../tiny");
  ASSERT_FALSE(bool(config));
  llvm::consumeError(config.takeError());
}

} // namespace
