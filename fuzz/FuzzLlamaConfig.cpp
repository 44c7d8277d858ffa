// Fuzz target: parseLlamaConfig (runtime/model/LlamaParams.h), the reader of
// a Hugging Face config.json, and hfLlamaParameters, what its callers do
// next with the shapes.
//
// Input: the text of a config.json. An accepted config must keep the
// promises a caller relies on (every size positive, heads divisible by the
// KV heads) and give a parameter list whose count and shapes are the HF
// ones, with every shape's element count representable (computed here in
// 128 bits).
#include "fuzz/FuzzTarget.h"
#include "runtime/model/LlamaParams.h"
#include "runtime/model/ModelError.h"

namespace off::fuzz {

const char *const kTargetName = "llama_config";

namespace {

using model::LlamaShapes;

void checkAccepted(const LlamaShapes &s) {
  if (s.hiddenSize <= 0 || s.intermediateSize <= 0 || s.layers <= 0 || s.heads <= 0 ||
      s.kvHeads <= 0 || s.headDim <= 0 || s.vocabSize <= 0)
    violation("accepted a non-positive size");
  if (s.heads % s.kvHeads != 0)
    violation("accepted heads that the KV heads do not divide");

  const std::vector<model::ExpectedTensor> params = model::hfLlamaParameters(s);
  const size_t perLayer = 9 + (s.attentionBias ? 4 : 0) + (s.mlpBias ? 3 : 0);
  const size_t expected = 2 + size_t(s.layers) * perLayer + (s.tieWordEmbeddings ? 0 : 1);
  if (params.size() != expected)
    violation("hfLlamaParameters gave " + std::to_string(params.size()) +
              " parameters, HF has " + std::to_string(expected));
  for (const model::ExpectedTensor &param : params) {
    unsigned __int128 count = 1;
    for (int64_t dim : param.shape) {
      if (dim <= 0)
        violation("parameter " + param.name + " has a non-positive dimension");
      count *= uint64_t(dim);
      if (count > uint64_t(INT64_MAX))
        violation("parameter " + param.name + " has more than 2^63 elements");
    }
  }
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  auto shapes = parseOrReject<model::ModelIoError>(
      [&] { return model::parseLlamaConfig(text, kInputName); });
  if (!shapes)
    return Outcome::Rejected;
  checkAccepted(*shapes);
  return Outcome::Accepted;
}

} // namespace off::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  off::fuzz::runFuzzInput(data, size);
  return 0;
}
