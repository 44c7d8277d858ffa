#include "runtime/model/LlamaParams.h"

#include "runtime/model/Json.h"
#include "runtime/model/ModelError.h"

namespace off::model {

namespace {

// Callers materialise the parameter list (hfLlamaParameters: ~9 entries a
// layer) and multiply the dims of each shape in int64, so a config whose
// sizes only a corrupt file has must be refused here, not overflow or
// exhaust memory later. 4096 layers is 32 times the deepest Llama published
// (126 layers, Llama 3.1 405B).
constexpr int64_t kMaxLayers = 4096;

void checkParameterSizes(const LlamaShapes &s, const std::string &path) {
  if (s.layers > kMaxLayers)
    throwFileError(path, "\"num_hidden_layers\" " + std::to_string(s.layers) +
                             " is more than " + std::to_string(kMaxLayers) +
                             " (corrupt config?)");
  // Every dim is a positive int64, so each product of two fits in 128 bits,
  // and so does the sum below (a few dozen such terms times <= 4096 layers).
  using Wide = unsigned __int128;
  auto elements = [&](const char *tensor, int64_t rows, int64_t cols) {
    Wide count = Wide(rows) * Wide(cols);
    if (count > Wide(INT64_MAX))
      throwFileError(path, std::string(tensor) + " would have " +
                               "more than 2^63 elements: sizes too large (corrupt config?)");
    return count;
  };
  const Wide q = elements("the query projection", s.heads, s.headDim);
  const Wide kv = elements("the key/value projections", s.kvHeads, s.headDim);
  const Wide h = Wide(s.hiddenSize), ffn = Wide(s.intermediateSize);
  const Wide perLayer = elements("q_proj", int64_t(q), s.hiddenSize) * 2 +     // q, o
                        elements("k_proj", int64_t(kv), s.hiddenSize) * 2 +    // k, v
                        elements("gate_proj", s.intermediateSize, s.hiddenSize) * 3 +
                        q + 2 * kv + 4 * h + 2 * ffn; // biases and norms, at most
  const Wide embedding = elements("model.embed_tokens", s.vocabSize, s.hiddenSize);
  if (perLayer * Wide(s.layers) + 2 * embedding + h > Wide(INT64_MAX))
    throwFileError(path, "the model would have more than 2^63 parameters: sizes too "
                         "large (corrupt config?)");
}

} // namespace

LlamaShapes parseLlamaConfig(const std::string &configJson, const std::string &path) {
  const Json config = parseJsonObject(configJson, path);
  auto integer = [&](const char *key, std::optional<int64_t> fallback) -> int64_t {
    const Json *value = jsonMember(config, key);
    if (!value || value->is_null()) {
      if (!fallback)
        throwFileError(path, std::string("missing \"") + key + "\"");
      return *fallback;
    }
    std::optional<int64_t> number = jsonInt64(*value);
    if (!number)
      throwFileError(path, std::string("\"") + key + "\": expected an integer, found " +
                               (value->is_number() ? value->dump() : jsonKindName(*value)));
    int64_t result = *number;
    if (result <= 0)
      throwFileError(path, std::string("\"") + key + "\" must be positive, found " +
                               std::to_string(result));
    return result;
  };
  auto boolean = [&](const char *key, bool fallback) {
    const Json *value = jsonMember(config, key);
    if (!value)
      return fallback;
    if (!value->is_boolean())
      throwFileError(path, std::string("\"") + key + "\" is not a boolean");
    return value->get<bool>();
  };

  LlamaShapes shapes;
  shapes.hiddenSize = integer("hidden_size", std::nullopt);
  shapes.intermediateSize = integer("intermediate_size", std::nullopt);
  shapes.layers = integer("num_hidden_layers", std::nullopt);
  shapes.heads = integer("num_attention_heads", std::nullopt);
  shapes.kvHeads = integer("num_key_value_heads", shapes.heads);
  shapes.vocabSize = integer("vocab_size", std::nullopt);
  if (shapes.hiddenSize % shapes.heads != 0 && !jsonMember(config, "head_dim"))
    throwFileError(path, "hidden_size " + std::to_string(shapes.hiddenSize) +
                             " is not a multiple of num_attention_heads " +
                             std::to_string(shapes.heads));
  shapes.headDim = integer("head_dim", shapes.hiddenSize / shapes.heads);
  if (shapes.heads % shapes.kvHeads != 0)
    throwFileError(path, "num_attention_heads " + std::to_string(shapes.heads) +
                             " is not a multiple of num_key_value_heads " +
                             std::to_string(shapes.kvHeads));
  checkParameterSizes(shapes, path);
  shapes.tieWordEmbeddings = boolean("tie_word_embeddings", false);
  shapes.attentionBias = boolean("attention_bias", false);
  shapes.mlpBias = boolean("mlp_bias", false);
  if (const Json *range = jsonMember(config, "initializer_range")) {
    if (!range->is_number())
      throwFileError(path, std::string("\"initializer_range\": expected a number, found ") +
                               jsonKindName(*range));
    shapes.initializerRange = range->get<double>();
  }
  return shapes;
}

std::vector<ExpectedTensor> hfLlamaParameters(const LlamaShapes &s, DType dtype) {
  std::vector<ExpectedTensor> params;
  auto add = [&](std::string name, Shape shape) {
    params.push_back({std::move(name), std::move(shape), dtype});
  };
  const int64_t qSize = s.heads * s.headDim, kvSize = s.kvHeads * s.headDim;
  add("model.embed_tokens.weight", {s.vocabSize, s.hiddenSize});
  for (int64_t layer = 0; layer < s.layers; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    const std::string attn = prefix + "self_attn.", mlp = prefix + "mlp.";
    add(attn + "q_proj.weight", {qSize, s.hiddenSize});
    if (s.attentionBias) add(attn + "q_proj.bias", {qSize});
    add(attn + "k_proj.weight", {kvSize, s.hiddenSize});
    if (s.attentionBias) add(attn + "k_proj.bias", {kvSize});
    add(attn + "v_proj.weight", {kvSize, s.hiddenSize});
    if (s.attentionBias) add(attn + "v_proj.bias", {kvSize});
    add(attn + "o_proj.weight", {s.hiddenSize, qSize});
    if (s.attentionBias) add(attn + "o_proj.bias", {s.hiddenSize});
    add(mlp + "gate_proj.weight", {s.intermediateSize, s.hiddenSize});
    if (s.mlpBias) add(mlp + "gate_proj.bias", {s.intermediateSize});
    add(mlp + "up_proj.weight", {s.intermediateSize, s.hiddenSize});
    if (s.mlpBias) add(mlp + "up_proj.bias", {s.intermediateSize});
    add(mlp + "down_proj.weight", {s.hiddenSize, s.intermediateSize});
    if (s.mlpBias) add(mlp + "down_proj.bias", {s.hiddenSize});
    add(prefix + "input_layernorm.weight", {s.hiddenSize});
    add(prefix + "post_attention_layernorm.weight", {s.hiddenSize});
  }
  add("model.norm.weight", {s.hiddenSize});
  if (!s.tieWordEmbeddings)
    add("lm_head.weight", {s.vocabSize, s.hiddenSize});
  return params;
}

} // namespace off::model
