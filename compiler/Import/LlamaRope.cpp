//===- LlamaRope.cpp - rotary embedding tables of a Llama config ----------===//

#include "compiler/Import/LlamaRope.h"

#include <cmath>
#include <numbers>

using namespace mlir::off;

std::vector<double> mlir::off::llamaInverseFrequencies(const LlamaConfig &config) {
  const int64_t dim = config.headDim;
  std::vector<double> invFreq(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i)
    invFreq[i] = std::pow(config.ropeTheta, -static_cast<double>(2 * i) /
                                                static_cast<double>(dim));
  if (!config.llama3Scaling)
    return invFreq;

  // Llama 3.1: wavelengths longer than the original context divided by
  // `factor` (low frequencies stretched), shorter than original/high_freq
  // kept, and a linear blend in between driven by how many times the
  // wavelength fits in the original context.
  const Llama3RopeScaling &scaling = *config.llama3Scaling;
  const double original = static_cast<double>(scaling.originalMaxPositions);
  const double lowFreqWavelen = original / scaling.lowFreqFactor;
  const double highFreqWavelen = original / scaling.highFreqFactor;
  for (double &freq : invFreq) {
    double wavelen = 2.0 * std::numbers::pi / freq;
    if (wavelen > lowFreqWavelen) {
      freq /= scaling.factor;
    } else if (wavelen >= highFreqWavelen) {
      double smooth = (original / wavelen - scaling.lowFreqFactor) /
                      (scaling.highFreqFactor - scaling.lowFreqFactor);
      freq = (1.0 - smooth) * freq / scaling.factor + smooth * freq;
    }
  }
  return invFreq;
}

RopeTables mlir::off::llamaRopeTables(const LlamaConfig &config, int64_t seq) {
  const int64_t dim = config.headDim, half = dim / 2;
  std::vector<double> invFreq = llamaInverseFrequencies(config);
  RopeTables tables;
  tables.cos.resize(seq * dim);
  tables.sin.resize(seq * dim);
  for (int64_t t = 0; t < seq; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      double angle = static_cast<double>(t) * invFreq[i];
      float c = static_cast<float>(std::cos(angle));
      float s = static_cast<float>(std::sin(angle));
      tables.cos[t * dim + i] = tables.cos[t * dim + half + i] = c;
      tables.sin[t * dim + i] = tables.sin[t * dim + half + i] = s;
    }
  }
  return tables;
}
