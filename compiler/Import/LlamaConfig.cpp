//===- LlamaConfig.cpp - reading and checking a Llama config.json ---------===//
//
// Every top-level field of config.json falls in one of four groups (kept in
// step with docs/frontends.md):
//   honoured:    read into LlamaConfig;
//   constrained: must have the one value we build (hidden_act = "silu", no
//                biases, no dropout, model_type = "llama", ...);
//   ignored:     do not change the graph (token ids, dtype, cache flags);
//   anything else is an error, so a field we do not know is never dropped
//   silently.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/LlamaConfig.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "runtime/common/JsonCheck.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir::off;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;
namespace json = llvm::json;

namespace {

// Upper bounds that keep every element count and parameter count well inside
// int64 (the largest real Llama is far below each).
constexpr int64_t kMaxWidth = int64_t{1} << 20;     // hidden, intermediate, heads*head_dim
constexpr int64_t kMaxCount = int64_t{1} << 16;     // layers, heads
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxPositions = int64_t{1} << 26;
constexpr int64_t kMaxActivationElements = int64_t{1} << 48;

struct BuiltinConfig {
  const char *name;
  const char *json;
};

// models/llama/*.json, embedded at build time (see CMakeLists.txt) so that
// offc finds its named sizes wherever it is run from.
const BuiltinConfig kBuiltinConfigs[] = {
#include "compiler/Import/LlamaNamedConfigs.inc"
};

/// Shortest readable form of a number for messages (Twine takes no double).
std::string num(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Reads one config.json: knows the file name for messages and collects the
/// RoPE fields, which may come in two layouts and are resolved at the end.
class ConfigReader {
public:
  explicit ConfigReader(StringRef source) : source(source) {}

  Expected<LlamaConfig> read(const json::Object &root);

private:
  Error fieldError(StringRef field, const Twine &message) const {
    return makeError(source + ": field '" + field + "': " + message);
  }
  Error readField(StringRef key, const json::Value &value);
  Error readRopeObject(StringRef field, const json::Object &object,
                       bool allowTheta);
  Error validate();

  Expected<int64_t> bounded(StringRef field, const json::Value &value,
                            int64_t min, int64_t max) const;
  Expected<double> positiveNumber(StringRef field, const json::Value &value,
                                  bool allowZero = false) const;
  Expected<bool> boolean(StringRef field, const json::Value &value) const;
  Error expectString(StringRef field, const json::Value &value,
                     StringRef wanted) const;

  std::string source;
  LlamaConfig config;
  bool sawHeadDim = false, sawKvHeads = false;
  bool sawRopeTheta = false, sawRopeScaling = false, sawRopeParameters = false;
  std::string ropeType = "default";
  std::optional<double> llama3Factor, lowFreqFactor, highFreqFactor;
  std::optional<int64_t> originalMaxPositions;
};

Expected<int64_t> ConfigReader::bounded(StringRef field, const json::Value &value,
                                        int64_t min, int64_t max) const {
  std::optional<int64_t> integer = value.getAsInteger();
  if (!integer)
    return fieldError(field, "must be an integer");
  if (*integer < min || *integer > max)
    return fieldError(field, Twine(*integer) + " is out of range [" +
                                 Twine(min) + ", " + Twine(max) + "]");
  return *integer;
}

Expected<double> ConfigReader::positiveNumber(StringRef field,
                                              const json::Value &value,
                                              bool allowZero) const {
  std::optional<double> number = value.getAsNumber();
  if (!number)
    return fieldError(field, "must be a number");
  if (!(*number > 0.0 || (allowZero && *number == 0.0)) || !std::isfinite(*number))
    return fieldError(field, num(*number) + " must be " +
                                 (allowZero ? "non-negative" : "positive"));
  return *number;
}

Expected<bool> ConfigReader::boolean(StringRef field,
                                     const json::Value &value) const {
  std::optional<bool> flag = value.getAsBoolean();
  if (!flag)
    return fieldError(field, "must be true or false");
  return *flag;
}

Error ConfigReader::expectString(StringRef field, const json::Value &value,
                                 StringRef wanted) const {
  std::optional<StringRef> text = value.getAsString();
  if (!text)
    return fieldError(field, "must be a string");
  if (*text != wanted)
    return fieldError(field, "is \"" + *text + "\"; only \"" + wanted +
                                 "\" is supported");
  return Error::success();
}

// Assigns `expr` (an Expected) to `target`, returning its error if any.
#define OFF_READ(target, expr)                                                 \
  do {                                                                         \
    auto _value = (expr);                                                      \
    if (!_value)                                                               \
      return _value.takeError();                                               \
    target = *_value;                                                          \
  } while (false)

Error ConfigReader::readField(StringRef key, const json::Value &value) {
  // Honoured.
  if (key == "hidden_size")
    OFF_READ(config.hiddenSize, bounded(key, value, 1, kMaxWidth));
  else if (key == "intermediate_size")
    OFF_READ(config.intermediateSize, bounded(key, value, 1, kMaxWidth));
  else if (key == "num_hidden_layers")
    OFF_READ(config.numLayers, bounded(key, value, 1, kMaxCount));
  else if (key == "num_attention_heads")
    OFF_READ(config.numHeads, bounded(key, value, 1, kMaxCount));
  else if (key == "num_key_value_heads") {
    // null means "same as num_attention_heads" in Hugging Face's LlamaConfig.
    if (value.kind() != json::Value::Null) {
      OFF_READ(config.numKvHeads, bounded(key, value, 1, kMaxCount));
      sawKvHeads = true;
    }
  } else if (key == "head_dim") {
    if (value.kind() != json::Value::Null) {
      OFF_READ(config.headDim, bounded(key, value, 2, kMaxWidth));
      sawHeadDim = true;
    }
  } else if (key == "vocab_size")
    OFF_READ(config.vocabSize, bounded(key, value, 1, kMaxVocab));
  else if (key == "max_position_embeddings")
    OFF_READ(config.maxPositions, bounded(key, value, 1, kMaxPositions));
  else if (key == "rms_norm_eps")
    OFF_READ(config.rmsNormEps, positiveNumber(key, value));
  else if (key == "initializer_range")
    OFF_READ(config.initializerRange, positiveNumber(key, value, true));
  else if (key == "tie_word_embeddings")
    OFF_READ(config.tieWordEmbeddings, boolean(key, value));
  else if (key == "rope_theta") {
    OFF_READ(config.ropeTheta, positiveNumber(key, value));
    sawRopeTheta = true;
  } else if (key == "rope_scaling") {
    if (value.kind() == json::Value::Null)
      return Error::success();
    const json::Object *object = value.getAsObject();
    if (!object)
      return fieldError(key, "must be an object or null");
    sawRopeScaling = true;
    return readRopeObject(key, *object, /*allowTheta=*/false);
  } else if (key == "rope_parameters") {
    const json::Object *object = value.getAsObject();
    if (!object)
      return fieldError(key, "must be an object");
    sawRopeParameters = true;
    return readRopeObject(key, *object, /*allowTheta=*/true);
  }
  // Constrained: the only value we build.
  else if (key == "model_type")
    return expectString(key, value, "llama");
  else if (key == "hidden_act")
    return expectString(key, value, "silu");
  else if (key == "architectures") {
    const json::Array *list = value.getAsArray();
    if (!list || list->size() != 1)
      return fieldError(key, "must be [\"LlamaForCausalLM\"]");
    return expectString(key, (*list)[0], "LlamaForCausalLM");
  } else if (key == "attention_bias" || key == "mlp_bias") {
    bool flag = false;
    OFF_READ(flag, boolean(key, value));
    if (flag)
      return fieldError(key, "is true; Llama layers without bias are the only "
                             "ones built");
  } else if (key == "attention_dropout") {
    double rate = 0;
    OFF_READ(rate, positiveNumber(key, value, /*allowZero=*/true));
    if (rate != 0.0)
      return fieldError(key, num(rate) + " is not supported (dropout is not "
                                           "built; use 0.0)");
  } else if (key == "pretraining_tp") {
    // Hugging Face splits the linear layers into this many slices when it is
    // > 1; the result is the same product, so the graph does not change.
    int64_t slices = 0;
    OFF_READ(slices, bounded(key, value, 1, kMaxCount));
    (void)slices;
  }
  // Ignored: they do not change the graph.
  else if (llvm::is_contained(
               {"_name_or_path", "transformers_version", "torch_dtype", "dtype",
                "bos_token_id", "eos_token_id", "pad_token_id", "use_cache",
                "output_attentions", "output_hidden_states", "return_dict"},
               key))
    return Error::success();
  else
    return fieldError(key, "is not a Llama config field offc knows (see "
                           "docs/frontends.md for the accepted fields)");
  return Error::success();
}

Error ConfigReader::readRopeObject(StringRef field, const json::Object &object,
                                   bool allowTheta) {
  std::vector<std::string> keys;
  for (const auto &entry : object)
    keys.push_back(entry.first.str());
  llvm::sort(keys);
  for (const std::string &key : keys) {
    const json::Value &value = *object.get(key);
    std::string name = (field + "." + key).str();
    if (key == "rope_type" || key == "type") {
      std::optional<StringRef> text = value.getAsString();
      if (!text)
        return fieldError(name, "must be a string");
      if (*text != "default" && *text != "llama3")
        return fieldError(name, "\"" + *text + "\" is not supported (only "
                                               "\"default\" and \"llama3\")");
      ropeType = text->str();
    } else if (key == "rope_theta" && allowTheta) {
      OFF_READ(config.ropeTheta, positiveNumber(name, value));
    } else if (key == "factor") {
      OFF_READ(llama3Factor, positiveNumber(name, value));
    } else if (key == "low_freq_factor") {
      OFF_READ(lowFreqFactor, positiveNumber(name, value));
    } else if (key == "high_freq_factor") {
      OFF_READ(highFreqFactor, positiveNumber(name, value));
    } else if (key == "original_max_position_embeddings") {
      OFF_READ(originalMaxPositions, bounded(name, value, 1, kMaxPositions));
    } else {
      return fieldError(name, "is not a RoPE field offc knows");
    }
  }
  return Error::success();
}

#undef OFF_READ

Error ConfigReader::validate() {
  for (auto [name, present] :
       {std::pair<StringRef, bool>{"hidden_size", config.hiddenSize > 0},
        {"intermediate_size", config.intermediateSize > 0},
        {"num_hidden_layers", config.numLayers > 0},
        {"num_attention_heads", config.numHeads > 0},
        {"vocab_size", config.vocabSize > 0}})
    if (!present)
      return fieldError(name, "is required");

  if (!sawKvHeads)
    config.numKvHeads = config.numHeads;
  if (config.numHeads % config.numKvHeads != 0)
    return fieldError("num_key_value_heads",
                      Twine(config.numKvHeads) +
                          " does not divide num_attention_heads (" +
                          Twine(config.numHeads) + ")");
  if (!sawHeadDim) {
    if (config.hiddenSize % config.numHeads != 0)
      return fieldError("num_attention_heads",
                        Twine(config.numHeads) + " does not divide hidden_size (" +
                            Twine(config.hiddenSize) +
                            ") and there is no head_dim");
    config.headDim = config.hiddenSize / config.numHeads;
  }
  if (config.headDim % 2 != 0)
    return fieldError(sawHeadDim ? "head_dim" : "num_attention_heads",
                      "the head dimension " + Twine(config.headDim) +
                          " is odd; rotary embeddings need it even");
  if (config.numHeads * config.headDim > kMaxWidth)
    return fieldError("head_dim", "num_attention_heads * head_dim (" +
                                      Twine(config.numHeads * config.headDim) +
                                      ") is larger than " + Twine(kMaxWidth));

  // RoPE: transformers 4 writes rope_theta + rope_scaling, transformers 5
  // writes rope_parameters; both at once would leave it unclear which wins.
  if (sawRopeParameters && (sawRopeTheta || sawRopeScaling))
    return fieldError("rope_parameters",
                      "is given together with rope_theta/rope_scaling; give "
                      "one layout (transformers 5 or 4), not both");
  StringRef ropeField = sawRopeParameters ? "rope_parameters" : "rope_scaling";
  bool anyLlama3Field = llama3Factor || lowFreqFactor || highFreqFactor ||
                        originalMaxPositions;
  if (ropeType == "default") {
    if (anyLlama3Field)
      return fieldError(ropeField, "has llama3 scaling fields but rope_type "
                                   "is not \"llama3\"");
    return Error::success();
  }
  if (!llama3Factor || !lowFreqFactor || !highFreqFactor || !originalMaxPositions)
    return fieldError(ropeField, "rope_type \"llama3\" needs factor, "
                                 "low_freq_factor, high_freq_factor and "
                                 "original_max_position_embeddings");
  if (!(*highFreqFactor > *lowFreqFactor))
    return fieldError((ropeField + ".high_freq_factor").str(),
                      num(*highFreqFactor) + " must be larger than "
                      "low_freq_factor (" + num(*lowFreqFactor) + ")");
  config.llama3Scaling = Llama3RopeScaling{*llama3Factor, *lowFreqFactor,
                                           *highFreqFactor, *originalMaxPositions};
  return Error::success();
}

Expected<LlamaConfig> ConfigReader::read(const json::Object &root) {
  config.source = source;
  // Sorted, so that the first error reported does not depend on hashing.
  std::vector<std::string> keys;
  for (const auto &entry : root)
    keys.push_back(entry.first.str());
  llvm::sort(keys);
  for (const std::string &key : keys)
    if (Error error = readField(key, *root.get(key)))
      return std::move(error);
  if (Error error = validate())
    return std::move(error);
  return config;
}

} // namespace

int64_t LlamaConfig::parameterCount() const {
  int64_t attention = hiddenSize * headDim * (2 * numHeads + 2 * numKvHeads);
  int64_t mlp = 3 * hiddenSize * intermediateSize;
  int64_t norms = 2 * hiddenSize;
  int64_t embeddings = vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
  return numLayers * (attention + mlp + norms) + embeddings + hiddenSize;
}

Expected<LlamaConfig> mlir::off::parseLlamaConfig(StringRef jsonText,
                                                  StringRef source) {
  // The strict check first: llvm::json's recursive parser would overflow
  // the stack on a deeply nested file, and keeps a duplicate key silently.
  if (std::string problem = ::off::checkJson(jsonText); !problem.empty())
    return makeError(source + ": not valid JSON: " + problem);
  Expected<json::Value> root = json::parse(jsonText);
  if (!root)
    return makeError(source + ": not valid JSON: " +
                     llvm::toString(root.takeError()));
  const json::Object *object = root->getAsObject();
  if (!object)
    return makeError(source + ": must be a JSON object of config fields");
  Expected<LlamaConfig> config = ConfigReader(source).read(*object);
  if (config)
    config->jsonText = jsonText.str();
  return config;
}

Expected<LlamaConfig> mlir::off::loadLlamaConfigFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  return parseLlamaConfig((*buffer)->getBuffer(), path);
}

std::vector<std::string> mlir::off::builtinLlamaSizes() {
  std::vector<std::string> names;
  for (const BuiltinConfig &config : kBuiltinConfigs)
    names.push_back(config.name);
  llvm::sort(names);
  return names;
}

Expected<LlamaConfig> mlir::off::loadNamedLlamaConfig(StringRef name) {
  // A size is a name, never a path.
  if (name.empty() || !llvm::all_of(name, [](char c) {
        return llvm::isAlnum(c) || c == '.' || c == '-' || c == '_';
      }) || name.starts_with("."))
    return makeError("'" + name + "' is not a Llama size name (letters, "
                     "digits, '.', '-', '_')");
  if (const char *dir = std::getenv("OFF_MODELS_DIR"); dir && *dir) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "llama", name + ".json");
    if (llvm::sys::fs::exists(path)) {
      Expected<LlamaConfig> config = loadLlamaConfigFile(path);
      if (config)
        config->sizeName = name.str();
      return config;
    }
  }
  for (const BuiltinConfig &builtin : kBuiltinConfigs) {
    if (name != builtin.name)
      continue;
    std::string source = ("models/llama/" + name + ".json (built in)").str();
    Expected<LlamaConfig> config = parseLlamaConfig(builtin.json, source);
    if (config)
      config->sizeName = name.str();
    return config;
  }
  return makeError("unknown Llama size '" + name + "'; built-in sizes: " +
                   llvm::join(builtinLlamaSizes(), ", "));
}

Error mlir::off::checkLlamaInputShape(const LlamaConfig &config, int64_t batch,
                                      int64_t seq) {
  if (batch < 1 || seq < 1)
    return makeError("batch (" + Twine(batch) + ") and sequence length (" +
                     Twine(seq) + ") must be at least 1");
  if (seq > config.maxPositions)
    return makeError(config.source + ": field 'max_position_embeddings': the "
                     "sequence length " + Twine(seq) + " is larger than " +
                     Twine(config.maxPositions));
  // The largest activations: logits/MLP [B, T, width] and scores [B, H, T, T].
  int64_t width = std::max({config.vocabSize, config.intermediateSize,
                            config.hiddenSize, config.numHeads * config.headDim});
  int64_t tokens = 0, activation = 0, scores = 0;
  if (__builtin_mul_overflow(batch, seq, &tokens) ||
      __builtin_mul_overflow(tokens, width, &activation) ||
      __builtin_mul_overflow(tokens, seq, &scores) ||
      __builtin_mul_overflow(scores, config.numHeads, &scores) ||
      activation > kMaxActivationElements || scores > kMaxActivationElements)
    return makeError("batch " + Twine(batch) + " x sequence " + Twine(seq) +
                     " makes tensors larger than 2^48 elements");
  return Error::success();
}
