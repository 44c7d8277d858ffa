// Conformance: the fused LLM ops (rms_norm, rope, attention with GQA and
// causal masks, swiglu, embedding, cross_entropy) against the naive double
// references of Reference.h, on small odd shapes.
#include "test/unit/runtime/cpu/ConformanceBackends.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"
#include "test/unit/runtime/cpu/Reference.h"
#include "test/unit/runtime/cpu/RopeTables.h"

#include <cmath>

using namespace off::test;
using off::backend::AttrValue;

namespace {

class FusedForward : public Conformance {};
OFF_CONFORMANCE_SUITE(FusedForward);

TEST_P(FusedForward, RmsNormAsLlama) {
  std::mt19937 rng(21);
  for (Shape shape : {Shape{2, 3, 17}, Shape{5, 64}, Shape{1, 1}, Shape{7, 129}}) {
    int64_t C = shape.back();
    HostTensor x = randomF32(shape, rng, -2.0, 2.0), w = randomF32({C}, rng, 0.5, 1.5);
    auto out = runOp(backend(), "rms_norm", {x, w}, {{shape}}, {{"eps", 1e-5}});
    EXPECT_LT(relativeError(out[0], ref::rmsNorm(asDouble(x), C, asDouble(w), 1e-5)), 1e-6)
        << ::testing::PrintToString(shape);
  }
  // eps matters for rows near zero.
  HostTensor zeros = f32Tensor({1, 4}, {0, 0, 1e-4, 0}), ones = f32Tensor({4}, {1, 1, 1, 1});
  auto out = runOp(backend(), "rms_norm", {zeros, ones}, {{{1, 4}}}, {{"eps", 1e-6}});
  EXPECT_NEAR(out[0].at(2), 1e-4 / std::sqrt(1e-8 / 4 + 1e-6), 1e-6);
}

TEST_P(FusedForward, RopeRotateHalfAsHuggingFace) {
  std::mt19937 rng(22);
  const int64_t B = 2, H = 3, T = 5, D = 8;
  HostTensor x = randomF32({B, H, T, D}, rng);
  RopeTables tables = ropeTables(T, D, 10000.0);
  auto out = runOp(backend(), "rope", {x, tables.cos, tables.sin}, {{x.shape}});
  EXPECT_LT(relativeError(out[0], ref::rope(asDouble(x), B, H, T, D, asDouble(tables.cos),
                                            asDouble(tables.sin))),
            1e-6);
  // Position 0 is the identity (cos 1, sin 0).
  for (int64_t d = 0; d < D; ++d)
    EXPECT_EQ(out[0].at(d), x.at(d));
}

struct AttentionCase {
  ref::AttentionShape s;
  bool explicitScale;
  const char *what;
};

std::vector<AttentionCase> attentionCases() {
  return {
      {{2, 4, 2, 5, 7, 6, 5, true, 1.0 / std::sqrt(6.0)}, false, "causal GQA, T < S"},
      {{1, 3, 3, 4, 4, 8, 8, true, 1.0 / std::sqrt(8.0)}, false, "causal MHA, T == S"},
      {{2, 2, 1, 3, 6, 4, 7, false, 0.3}, true, "non-causal MQA, explicit scale"},
      {{1, 2, 1, 70, 75, 4, 3, true, 0.7}, true, "query blocks of 64: T = 70"},
      {{1, 6, 2, 1, 9, 5, 5, true, 1.0 / std::sqrt(5.0)}, false, "one query (decode)"},
      {{1, 2, 2, 130, 130, 3, 2, false, 1.0 / std::sqrt(3.0)}, false, "three query blocks"},
  };
}

TEST_P(FusedForward, AttentionGqaCausalMatchesReference) {
  std::mt19937 rng(23);
  for (const AttentionCase &c : attentionCases()) {
    const ref::AttentionShape &s = c.s;
    HostTensor q = randomF32({s.B, s.Hq, s.T, s.D}, rng, -2.0, 2.0);
    HostTensor k = randomF32({s.B, s.Hkv, s.S, s.D}, rng, -2.0, 2.0);
    HostTensor v = randomF32({s.B, s.Hkv, s.S, s.Dv}, rng);
    off::backend::KernelAttrs attrs{{"causal", s.causal}};
    if (c.explicitScale)
      attrs.set("scale", s.scale); // else the kernel's default, 1/sqrt(D) = s.scale
    auto out = runOp(backend(), "attention", {q, k, v}, {{{s.B, s.Hq, s.T, s.Dv}}}, attrs);
    EXPECT_LT(relativeError(out[0], ref::attention(asDouble(q), asDouble(k), asDouble(v),
                                                   s)),
              2e-6)
        << c.what;
  }
}

TEST_P(FusedForward, CausalFirstQuerySeesOnlyItsPrefix) {
  // T = 2 queries over S = 4 keys: query 0 sees keys 0..2, so changing key 3
  // and its value must not change output row 0 but must change row 1.
  std::mt19937 rng(24);
  HostTensor q = randomF32({1, 1, 2, 4}, rng), k = randomF32({1, 1, 4, 4}, rng);
  HostTensor v = randomF32({1, 1, 4, 4}, rng);
  off::backend::KernelAttrs attrs{{"causal", true}};
  auto before = runOp(backend(), "attention", {q, k, v}, {{{1, 1, 2, 4}}}, attrs);
  for (int64_t d = 0; d < 4; ++d) {
    k.f32()[3 * 4 + d] += 1.0f;
    v.f32()[3 * 4 + d] += 1.0f;
  }
  auto after = runOp(backend(), "attention", {q, k, v}, {{{1, 1, 2, 4}}}, attrs);
  for (int64_t d = 0; d < 4; ++d) {
    EXPECT_EQ(before[0].at(d), after[0].at(d));
    EXPECT_NE(before[0].at(4 + d), after[0].at(4 + d));
  }
}

TEST_P(FusedForward, SwigluEmbeddingCrossEntropy) {
  std::mt19937 rng(25);
  HostTensor gate = randomF32({3, 43}, rng, -6.0, 6.0), up = randomF32({3, 43}, rng);
  auto y = runOp(backend(), "swiglu", {gate, up}, {{gate.shape}});
  EXPECT_LT(relativeError(y[0], ref::swiglu(asDouble(gate), asDouble(up))), 1e-6);

  for (DType dtype : {DType::I32, DType::I64}) {
    HostTensor table = randomF32({11, 5}, rng);
    std::vector<int64_t> ids = {3, 0, 10, 3, 7, 1};
    auto rows = runOp(backend(), "embedding", {table, indexTensor({2, 3}, ids, dtype)},
                      {{{2, 3, 5}}});
    EXPECT_EQ(rows[0].toDouble(), ref::embedding(asDouble(table), 5, ids));

    HostTensor logits = randomF32({2, 3, 13}, rng, -4.0, 4.0);
    std::vector<int64_t> targets = {12, 0, 5, 5, 7, 1};
    auto loss = runOp(backend(), "cross_entropy", {logits, indexTensor({2, 3}, targets, dtype)},
                      {{{}}});
    double expected = ref::crossEntropy(asDouble(logits), 13, targets);
    EXPECT_NEAR(loss[0].at(0), expected, 1e-6 * expected);
  }
  // Uniform logits: log(V) exactly as the definition says.
  HostTensor flat = f32Tensor({2, 4}, std::vector<double>(8, 3.0));
  auto uniform = runOp(backend(), "cross_entropy", {flat, indexTensor({2}, {1, 3}, DType::I32)},
                       {{{}}});
  EXPECT_NEAR(uniform[0].at(0), std::log(4.0), 1e-6);
}

TEST_P(FusedForward, LargeVocabularyCrossEntropy) {
  // A long row: the sum over V must not lose the small terms.
  std::mt19937 rng(26);
  const int64_t V = 50000;
  HostTensor logits = randomF32({3, V}, rng, -8.0, 8.0);
  std::vector<int64_t> targets = {0, V - 1, 12345};
  auto loss = runOp(backend(), "cross_entropy", {logits, indexTensor({3}, targets, DType::I64)},
                    {{{}}});
  double expected = ref::crossEntropy(asDouble(logits), V, targets);
  EXPECT_NEAR(loss[0].at(0), expected, 1e-6 * expected);
}

} // namespace
