// See OnnxHfConfig.h. Every size comes from the graph and is checked against
// every other place that shows it (each layer's weights, each attention and
// RMSNorm), so that a config is written only for a graph it describes: a
// wrong one would load into transformers without an error and compute
// something else.

#include "compiler/Import/OnnxHfConfig.h"

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <vector>

using namespace mlir;
using namespace mlir::off;

namespace {

using Shape = llvm::SmallVector<int64_t, 2>;

HfConfigResult notLlama(const llvm::Twine &why) { return {"", why.str()}; }

/// f32 values of a constant table, or nullopt.
std::optional<std::vector<float>> constantTable(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = llvm::dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense || !dense.getElementType().isF32())
    return std::nullopt;
  auto values = dense.getValues<float>();
  return std::vector<float>(values.begin(), values.end());
}

/// theta of tables cos/sin [T, D] = cos/sin(t * theta^(-2i/D)) (each
/// frequency in both halves), or why not. Row 1 holds the frequencies
/// themselves: f_i = atan2(sin, cos), unambiguous as every f_i <= 1.
std::optional<double> ropeTheta(const std::vector<float> &cos, const std::vector<float> &sin,
                                int64_t rows, int64_t dim, std::string &why) {
  if (rows < 2 || dim < 4 || dim % 2) {
    why = llvm::formatv("its RoPE tables ({0} x {1}) are too small to read a theta from",
                        rows, dim)
              .str();
    return std::nullopt;
  }
  const int64_t half = dim / 2;
  std::vector<double> freq(half);
  for (int64_t i = 0; i < dim; ++i) {
    double c = cos[dim + i], s = sin[dim + i];
    if (std::abs(c * c + s * s - 1) > 1e-5 || cos[i] != 1.0f || sin[i] != 0.0f) {
      why = "its RoPE tables are scaled or do not start at position 0 (a rope_scaling "
            "a Llama config here does not describe)";
      return std::nullopt;
    }
    if (i < half)
      freq[i] = std::atan2(s, c);
    else if (cos[dim + i] != cos[dim + i - half] || sin[dim + i] != sin[dim + i - half]) {
      why = "its RoPE tables are not in the rotate-half layout of Hugging Face's Llama";
      return std::nullopt;
    }
  }
  // f_1 = theta^(-2/D). The table holds it to fp32 precision, which puts
  // theta within about D * 1e-7 of its value: a number of three significant
  // digits that close is taken as it (10000, 500000, 1e6 are what configs
  // hold).
  double theta = std::pow(freq[1], -double(dim) / 2.0);
  if (!std::isfinite(theta) || theta <= 1) {
    why = "its RoPE frequencies do not give a theta";
    return std::nullopt;
  }
  double unit = std::pow(10.0, std::floor(std::log10(theta)) - 2);
  double round = std::round(theta / unit) * unit;
  if (std::abs(round - theta) <= 1e-4 * theta)
    theta = round;
  for (int64_t i = 0; i < half; ++i) {
    // transformers: inv_freq = 1 / theta ** (arange(0, D, 2) / D), in fp32.
    double expected = float(1.0 / std::pow(theta, double(2 * i) / double(dim)));
    if (std::abs(freq[i] - expected) > 1e-4 * expected + 3e-7) {
      why = llvm::formatv("its RoPE frequencies are not theta^(-2i/D) for one theta "
                          "(frequency {0} is {1}, theta {2} gives {3}: a rope_scaling?)",
                          i, freq[i], theta, expected)
                .str();
      return std::nullopt;
    }
  }
  return theta;
}

} // namespace

HfConfigResult mlir::off::deriveHfLlamaConfig(func::FuncOp step, int64_t seq,
                                              double initializerRange) {
  // The parameters by name (compute copies are not parameters of the model).
  std::map<std::string, Shape> params;
  step.walk([&](ParamOp param) {
    if (param.getCopyOf())
      return;
    auto type = llvm::cast<ShapedType>(param.getType());
    params[param.getName().str()] = Shape(type.getShape());
  });
  auto shapeOf = [&](const std::string &name) -> const Shape * {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  const Shape *embed = shapeOf("model.embed_tokens.weight");
  if (!embed || embed->size() != 2)
    return notLlama("its parameters are not named as a Hugging Face Llama's (no "
                    "'model.embed_tokens.weight' [vocab, hidden]; the first is '" +
                    (params.empty() ? std::string("none") : params.begin()->first) + "')");
  const int64_t vocab = (*embed)[0], hidden = (*embed)[1];

  // Layers 0..L-1, each with exactly a Llama layer's weights.
  std::set<int64_t> layerIndices;
  for (const auto &[name, shape] : params) {
    llvm::StringRef rest(name);
    if (!rest.consume_front("model.layers."))
      continue;
    int64_t index = 0;
    if (rest.consumeInteger(10, index) || !rest.starts_with("."))
      return notLlama("parameter '" + name + "' is not named as a Llama layer's");
    layerIndices.insert(index);
  }
  const int64_t layers = int64_t(layerIndices.size());
  if (layers == 0 || *layerIndices.rbegin() != layers - 1)
    return notLlama("its layers are not numbered model.layers.0 .. model.layers.N-1");

  std::set<std::string> described{"model.embed_tokens.weight", "model.norm.weight"};
  const Shape *q0 = shapeOf("model.layers.0.self_attn.q_proj.weight");
  const Shape *k0 = shapeOf("model.layers.0.self_attn.k_proj.weight");
  const Shape *gate0 = shapeOf("model.layers.0.mlp.gate_proj.weight");
  if (!q0 || !k0 || !gate0 || q0->size() != 2 || k0->size() != 2 || gate0->size() != 2)
    return notLlama("layer 0 lacks the q_proj, k_proj or gate_proj weight of a Llama layer");
  const int64_t qRows = (*q0)[0], kRows = (*k0)[0], intermediate = (*gate0)[0];
  for (int64_t layer = 0; layer < layers; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    const std::pair<const char *, Shape> expected[] = {
        {"input_layernorm.weight", {hidden}},
        {"post_attention_layernorm.weight", {hidden}},
        {"self_attn.q_proj.weight", {qRows, hidden}},
        {"self_attn.k_proj.weight", {kRows, hidden}},
        {"self_attn.v_proj.weight", {kRows, hidden}},
        {"self_attn.o_proj.weight", {hidden, qRows}},
        {"mlp.gate_proj.weight", {intermediate, hidden}},
        {"mlp.up_proj.weight", {intermediate, hidden}},
        {"mlp.down_proj.weight", {hidden, intermediate}},
    };
    for (const auto &[leaf, shape] : expected) {
      std::string name = prefix + leaf;
      const Shape *got = shapeOf(name);
      if (!got || *got != shape)
        return notLlama("'" + name + "' " +
                        (got ? "has another shape than layer 0's sizes give" : "is missing") +
                        " (not a Llama layer)");
      described.insert(name);
    }
  }
  const Shape *norm = shapeOf("model.norm.weight");
  if (!norm || *norm != Shape{hidden})
    return notLlama("'model.norm.weight' [hidden] is missing");
  const Shape *head = shapeOf("lm_head.weight");
  if (head && *head != Shape{vocab, hidden})
    return notLlama("'lm_head.weight' is not [vocab, hidden]");
  if (head)
    described.insert("lm_head.weight");
  for (const auto &[name, shape] : params)
    if (!described.count(name))
      return notLlama("it has a parameter a Llama config does not describe: '" + name + "'");

  // Heads and head dim from the attention ops; eps from the RMSNorms.
  int64_t heads = 0, kvHeads = 0, headDim = 0;
  std::string problem;
  size_t attentions = 0;
  step.walk([&](AttentionOp attention) {
    auto q = llvm::cast<ShapedType>(attention.getQuery().getType());
    auto k = llvm::cast<ShapedType>(attention.getKey().getType());
    ++attentions;
    if (q.getRank() != 4 || k.getRank() != 4)
      return;
    int64_t h = q.getDimSize(1), kv = k.getDimSize(1), d = q.getDimSize(3);
    if (!attention.getCausal())
      problem = "its attention is not causal";
    else if (std::abs(attention.getScaleOrDefault() * std::sqrt(double(d)) - 1) > 1e-6)
      problem = "its attention is not scaled by 1/sqrt(head_dim)";
    else if (heads && (h != heads || kv != kvHeads || d != headDim))
      problem = "its attention layers differ in heads or head size";
    heads = h, kvHeads = kv, headDim = d;
  });
  if (!problem.empty())
    return notLlama(problem);
  if (!attentions || heads <= 0 || kvHeads <= 0 || heads % kvHeads || heads * headDim != qRows ||
      kvHeads * headDim != kRows)
    return notLlama("its fused attention does not match the q/k projections (heads x head "
                    "size)");
  std::optional<double> eps;
  step.walk([&](RmsNormOp rms) {
    double value = rms.getEps().convertToDouble();
    if (eps && *eps != value)
      problem = "its RMSNorms have different epsilons";
    eps = value;
  });
  if (!problem.empty())
    return notLlama(problem);
  if (!eps)
    return notLlama("it has no RMSNorm");
  bool swiglu = false;
  step.walk([&](SwigluOp) { swiglu = true; });
  if (!swiglu)
    return notLlama("its MLP is not SwiGLU (silu(gate) * up)");

  // rope_theta from the first RoPE's tables (every RoPE reads the same ones).
  std::optional<double> theta;
  step.walk([&](RopeOp rope) {
    if (theta || !problem.empty())
      return;
    auto type = llvm::cast<ShapedType>(rope.getCos().getType());
    std::optional<std::vector<float>> cos = constantTable(rope.getCos());
    std::optional<std::vector<float>> sin = constantTable(rope.getSin());
    if (!cos || !sin || type.getRank() != 2) {
      problem = "its RoPE tables are not constants";
      return;
    }
    if (type.getDimSize(1) != headDim) {
      problem = "its RoPE covers part of the head only (partial rotary)";
      return;
    }
    theta = ropeTheta(*cos, *sin, type.getDimSize(0), type.getDimSize(1), problem);
  });
  if (!problem.empty())
    return notLlama(problem);
  if (!theta)
    return notLlama("it has no RoPE");

  llvm::json::Object config{
      {"architectures", llvm::json::Array{"LlamaForCausalLM"}},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"head_dim", headDim},
      {"hidden_act", "silu"},
      {"hidden_size", hidden},
      {"initializer_range", initializerRange},
      {"intermediate_size", intermediate},
      {"max_position_embeddings", seq},
      {"mlp_bias", false},
      {"model_type", "llama"},
      {"num_attention_heads", heads},
      {"num_hidden_layers", layers},
      {"num_key_value_heads", kvHeads},
      {"rms_norm_eps", *eps},
      {"rope_theta", *theta},
      {"tie_word_embeddings", head == nullptr},
      {"torch_dtype", "float32"},
      {"use_cache", true},
      {"vocab_size", vocab},
  };
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(config))) << "\n";
  return {os.str(), ""};
}
