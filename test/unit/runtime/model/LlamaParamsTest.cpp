// HF Llama parameter names and shapes from config.json (the Python test
// checks them against transformers itself; these are hand-computed).
#include "runtime/model/LlamaParams.h"

#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

namespace off::model {
namespace {

const char *kTiny = R"({"hidden_size": 64, "intermediate_size": 172,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "vocab_size": 256, "initializer_range": 0.02, "tie_word_embeddings": false})";

TEST(ModelLlamaParams, TinyConfigShapes) {
  LlamaShapes shapes = parseLlamaConfig(kTiny, "tiny.json");
  EXPECT_EQ(shapes.headDim, 16);
  EXPECT_EQ(shapes.kvHeads, 2);
  EXPECT_DOUBLE_EQ(shapes.initializerRange, 0.02);
  std::vector<ExpectedTensor> params = hfLlamaParameters(shapes);
  ASSERT_EQ(params.size(), 1 + 2 * 9 + 2u);
  EXPECT_EQ(params.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(params.front().shape, (Shape{256, 64}));
  EXPECT_EQ(params[2].name, "model.layers.0.self_attn.k_proj.weight");
  EXPECT_EQ(params[2].shape, (Shape{32, 64})); // 2 kv heads x 16
  EXPECT_EQ(params[7].name, "model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(params[7].shape, (Shape{64, 172}));
  EXPECT_EQ(params.back().name, "lm_head.weight");
  uint64_t total = 0;
  for (const ExpectedTensor &p : params)
    total += elementCount(p.shape);
  // 2*256*64 (embed, head) + 64 (norm) + 2 layers * (64*64*2 + 32*64*2 + 172*64*3 + 64*2)
  EXPECT_EQ(total, 2u * 256 * 64 + 64 + 2u * (64 * 64 * 2 + 32 * 64 * 2 + 172 * 64 * 3 + 128));
}

TEST(ModelLlamaParams, TiedEmbeddingsAndBiases) {
  LlamaShapes shapes = parseLlamaConfig(
      R"({"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
          "num_attention_heads":2,"vocab_size":10,"tie_word_embeddings":true,
          "attention_bias":true,"mlp_bias":true,"head_dim":6})",
      "c.json");
  EXPECT_EQ(shapes.kvHeads, 2); // defaults to the attention heads
  std::vector<ExpectedTensor> params = hfLlamaParameters(shapes, DType::BF16);
  EXPECT_EQ(params.back().name, "model.norm.weight"); // no lm_head when tied
  EXPECT_EQ(params[1].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(params[1].shape, (Shape{12, 8}));
  EXPECT_EQ(params[2].name, "model.layers.0.self_attn.q_proj.bias");
  EXPECT_EQ(params[2].dtype, DType::BF16);
  EXPECT_EQ(params.size(), 1 + 14 + 2 + 1u);
}

TEST(ModelLlamaParams, ConfigErrorsNameTheFile) {
  auto error = [](const std::string &text) {
    try {
      parseLlamaConfig(text, "cfg.json");
    } catch (const ModelIoError &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("{"), "cfg.json: not valid JSON: at byte 1: syntax error while parsing object "
                       "key - unexpected end of input; expected string literal");
  EXPECT_EQ(error("{}"), "cfg.json: missing \"hidden_size\"");
  EXPECT_EQ(error(R"({"hidden_size":0})"), "cfg.json: \"hidden_size\" must be positive, found 0");
  EXPECT_EQ(error(R"({"hidden_size":10,"intermediate_size":4,"num_hidden_layers":1,
                      "num_attention_heads":3,"vocab_size":5})"),
            "cfg.json: hidden_size 10 is not a multiple of num_attention_heads 3");
  EXPECT_EQ(error(R"({"hidden_size":12,"intermediate_size":4,"num_hidden_layers":1,
                      "num_attention_heads":3,"num_key_value_heads":2,"vocab_size":5})"),
            "cfg.json: num_attention_heads 3 is not a multiple of num_key_value_heads 2");
}

} // namespace
} // namespace off::model
