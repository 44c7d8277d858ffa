// Initial weights when there is no checkpoint, as Hugging Face's
// LlamaPreTrainedModel._init_weights does: every nn.Linear and nn.Embedding
// weight ~ Normal(0, initializer_range), biases 0, every RMSNorm weight 1.
//
// Values come from Random.h's counter-based stream: element k of tensor
// `name` under seed s is a function of (s, name, k) only, so the result does
// not depend on the order of the tensors, the thread count, or which rank
// fills which slice of a sharded tensor.
#pragma once

#include "runtime/model/Safetensors.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace off::model {

enum class InitKind : uint8_t {
  Normal, // Linear and Embedding weights
  Ones,   // RMSNorm weights
  Zeros,  // biases
};

/// One tensor to initialise: `data` holds elementCount(shape) floats, or,
/// for a shard, the elements [firstElement, firstElement + count) of the full
/// tensor (count = 0 means the whole tensor).
struct InitTarget {
  std::string name;
  Shape shape; // of the full tensor
  InitKind kind = InitKind::Normal;
  float *data = nullptr;
  uint64_t firstElement = 0;
  uint64_t count = 0;
};

/// Fills every target. `stddev` is the config's initializer_range (0.02 for
/// Llama). Throws std::invalid_argument for a slice outside its tensor.
void initWeights(const std::vector<InitTarget> &targets, uint64_t seed, double stddev);

} // namespace off::model
