// The parameters of Hugging Face's LlamaForCausalLM (names, shapes) from its
// config.json, for a runtime that must write or check HF checkpoints
// without the plan at hand (tools, tests, --init validation).
#pragma once

#include "runtime/model/TensorCheck.h"

#include <string>
#include <vector>

namespace off::model {

struct LlamaShapes {
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0; // hidden / heads unless config.json says head_dim
  int64_t vocabSize = 0;
  bool tieWordEmbeddings = false;
  bool attentionBias = false;
  bool mlpBias = false;
  double initializerRange = 0.02;
};

/// Reads the fields above from config.json text (`path` names it in errors:
/// missing or non-positive sizes, heads not dividing, bad JSON).
LlamaShapes parseLlamaConfig(const std::string &configJson, const std::string &path);

/// model.embed_tokens.weight, per layer model.layers.{i}.self_attn.
/// {q,k,v,o}_proj.weight, mlp.{gate,up,down}_proj.weight,
/// input_layernorm.weight, post_attention_layernorm.weight (plus biases when
/// configured), model.norm.weight and lm_head.weight (unless tied): the
/// order and shapes of LlamaForCausalLM.state_dict().
std::vector<ExpectedTensor> hfLlamaParameters(const LlamaShapes &shapes,
                                              DType dtype = DType::F32);

} // namespace off::model
