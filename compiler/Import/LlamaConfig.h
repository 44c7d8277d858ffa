//===- LlamaConfig.h - a Hugging Face Llama config.json, validated -*- C++ -*-===//
//
// Reads the config.json that Hugging Face ships with every Llama checkpoint
// (transformers 4 layout with `rope_theta`/`rope_scaling`, or transformers 5
// with `rope_parameters`) into LlamaConfig. Parsing is strict: a field we do
// not know, or one whose value would change the model's math in a way we do
// not build (a bias, another activation, another RoPE type), is an error
// naming the file and the field; docs/frontends.md lists every field.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_LLAMACONFIG_H
#define OFF_COMPILER_IMPORT_LLAMACONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::off {

/// Llama 3.1's RoPE frequency scaling (`rope_type: "llama3"`).
struct Llama3RopeScaling {
  double factor = 8.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPositions = 8192;
};

/// The fields of config.json that shape the graph, with Hugging Face's
/// defaults for the optional ones.
struct LlamaConfig {
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;  // num_key_value_heads; defaults to numHeads
  int64_t headDim = 0;     // head_dim; defaults to hiddenSize / numHeads
  int64_t vocabSize = 0;
  int64_t maxPositions = 2048; // max_position_embeddings
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  double initializerRange = 0.02;
  bool tieWordEmbeddings = false;
  std::optional<Llama3RopeScaling> llama3Scaling;

  /// Where the config came from ("models/llama/tiny.json (built in)" or a
  /// path); every error message starts with it.
  std::string source;
  /// The size name for built-in configs ("tiny", "llama3.1-8b"), else empty.
  std::string sizeName;
  /// The config.json text as read: plans and checkpoints carry it verbatim,
  /// so that a saved checkpoint loads with LlamaForCausalLM.from_pretrained.
  std::string jsonText;

  /// The number of weights of LlamaForCausalLM with this config (the figure
  /// model cards publish), computed from the config alone.
  int64_t parameterCount() const;
};

/// Parses and validates the text of a config.json. `source` names it in
/// errors.
llvm::Expected<LlamaConfig> parseLlamaConfig(llvm::StringRef jsonText,
                                             llvm::StringRef source);

/// Reads and parses a config.json file.
llvm::Expected<LlamaConfig> loadLlamaConfigFile(llvm::StringRef path);

/// Resolves a size name (`tiny`, `llama2-7b`, ...): `$OFF_MODELS_DIR/llama/
/// NAME.json` when that variable is set and the file exists, else the copy
/// of models/llama/NAME.json built into offc.
llvm::Expected<LlamaConfig> loadNamedLlamaConfig(llvm::StringRef name);

/// The size names built into offc, sorted.
std::vector<std::string> builtinLlamaSizes();

/// Checks that a batch of `batch` sequences of `seq` tokens fits the config
/// (seq <= max_position_embeddings, sizes that do not overflow).
llvm::Error checkLlamaInputShape(const LlamaConfig &config, int64_t batch,
                                 int64_t seq);

} // namespace mlir::off

#endif // OFF_COMPILER_IMPORT_LLAMACONFIG_H
