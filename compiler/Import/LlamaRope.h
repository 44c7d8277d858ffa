//===- LlamaRope.h - rotary embedding tables of a Llama config --*- C++ -*-===//
//
// The cos/sin tables that off.rope reads, computed once at build time as
// Hugging Face's LlamaRotaryEmbedding defines them:
//   inv_freq[i] = theta^(-2i/D)            i in [0, D/2)
//   (rope_type llama3: rescaled as transformers' _compute_llama3_parameters)
//   angle[t][j] = t * inv_freq[j mod D/2]  j in [0, D)   (emb = cat(freqs, freqs))
//   cos[t][j] = cos(angle[t][j]), sin[t][j] = sin(angle[t][j])
// Everything is computed in double and rounded to f32 once at the end.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_LLAMAROPE_H
#define OFF_COMPILER_IMPORT_LLAMAROPE_H

#include "compiler/Import/LlamaConfig.h"

#include <vector>

namespace mlir::off {

/// The D/2 inverse frequencies of the config's head dimension, llama3
/// scaling applied when the config has it.
std::vector<double> llamaInverseFrequencies(const LlamaConfig &config);

/// Row-major [seq, headDim] tables for positions 0..seq-1.
struct RopeTables {
  std::vector<float> cos;
  std::vector<float> sin;
};
RopeTables llamaRopeTables(const LlamaConfig &config, int64_t seq);

} // namespace mlir::off

#endif // OFF_COMPILER_IMPORT_LLAMAROPE_H
