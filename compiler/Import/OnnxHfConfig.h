// The Hugging Face config.json of an imported ONNX model, derived from its
// compiled graph, so that checkpoints of it load with
// `LlamaForCausalLM.from_pretrained` as those of the built-in Llama do (the
// built-in one has its config.json from the start; an ONNX export carries
// none).
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <string>

namespace mlir::off {

/// Either a config (a JSON object, keys sorted) or why no Llama config
/// describes the graph.
struct HfConfigResult {
  std::string configJson;
  std::string whyNot;
};

/// Reads transformers' LlamaConfig off `step` (the compiled forward or
/// train_step, after fusion): sizes from the parameters, which must be
/// exactly a Hugging Face Llama's by name and shape; heads, key/value heads
/// and head dim from the fused attention; rms_norm_eps from the RMSNorms;
/// rope_theta from the RoPE tables (positions 0..T-1, frequencies
/// theta^(-2i/D)). `seq`, the sequence length compiled for, becomes
/// max_position_embeddings (the graph holds no other). Anything else (other
/// parameter names, biases, a rope_scaling, tables that are not constants)
/// gives `whyNot`.
HfConfigResult deriveHfLlamaConfig(func::FuncOp step, int64_t seq, double initializerRange);

} // namespace mlir::off
