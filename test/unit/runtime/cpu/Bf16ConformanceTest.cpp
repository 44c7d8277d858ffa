// Conformance: the bf16 operands of a mixed-precision plan (offc compile
// --precision bf16-mixed), on every backend.
//
// Stated tolerances: an op on bf16 tensors computes in fp32 and rounds each
// bf16 result once (to nearest even), so against the double reference on
// the same (exact) bf16 inputs each element is off by at most half a bf16
// ulp, 2^-8 of its magnitude, plus the fp32 arithmetic's own error (1e-6 of
// the scale here): relativeError <= kBf16Tolerance = 2^-8 + 1e-5. Ops that
// run their fp32 kernel on widened inputs (all but matmul, global_norm,
// adam_step and data movement) must moreover give exactly the bits of that
// fp32 kernel's result rounded to bf16.
#include "runtime/common/Float16.h"
#include "test/unit/runtime/cpu/ConformanceBackends.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"
#include "test/unit/runtime/cpu/Reference.h"
#include "test/unit/runtime/cpu/RopeTables.h"

#include <cmath>

using namespace off::test;
using off::backend::KernelAttrs;

namespace {

constexpr double kBf16Tolerance = 1.0 / 256 + 1e-5;

class Bf16Conformance : public Conformance {
protected:
  /// Runs `op` on bf16 inputs (those in `bf16Inputs`) and the fp32 kernel on
  /// their widened values, and expects each bf16 output to be the rounded
  /// fp32 result, bit for bit. Returns the bf16 outputs.
  std::vector<HostTensor> expectWidenedFp32(const std::string &op,
                                            const std::vector<HostTensor> &inputs,
                                            const std::vector<OutSpec> &outputs,
                                            const KernelAttrs &attrs = {}) {
    std::vector<HostTensor> widened;
    for (const HostTensor &t : inputs)
      widened.push_back(t.dtype == off::DType::BF16 ? toDtype(t, off::DType::F32) : t);
    std::vector<OutSpec> fp32Outputs = outputs;
    for (OutSpec &spec : fp32Outputs)
      spec.dtype = off::DType::F32;
    auto ours = runOp(backend(), op, inputs, outputs, attrs);
    auto fp32 = runOp(backend(), op, widened, fp32Outputs, attrs);
    for (size_t i = 0; i < ours.size(); ++i) {
      HostTensor expected =
          ours[i].dtype == off::DType::BF16 ? toDtype(fp32[i], off::DType::BF16) : fp32[i];
      EXPECT_TRUE(sameBits(ours[i], expected)) << op << " output " << i;
    }
    return ours;
  }
};
OFF_CONFORMANCE_SUITE(Bf16Conformance);

struct MatmulCase {
  Shape lhs, rhs;
  bool tl, tr;
};

TEST_P(Bf16Conformance, MatmulWithinOneRoundingOfTheExactProduct) {
  std::mt19937 rng(101);
  const MatmulCase cases[] = {
      {{5, 7}, {7, 3}, false, false},
      {{7, 5}, {7, 3}, true, false},
      {{5, 7}, {3, 7}, false, true},
      {{7, 5}, {3, 7}, true, true},
      {{2, 3, 5, 7}, {9, 7}, false, true},       // y = x W^T on [B, T, C]
      {{3, 7, 5}, {2, 1, 7, 6}, true, false},    // both batches broadcast
      {{300, 260}, {270, 260}, false, true},     // blocked in both M and N
      {{2, 33, 40}, {2, 65, 40}, false, true},   // batched (attention-like)
      {{64, 1000}, {1000, 48}, false, false},    // long K: fp32 accumulation
      {{517, 64}, {517, 172}, true, false},      // a weight gradient dW = dY^T X
  };
  for (const MatmulCase &c : cases) {
    HostTensor a = randomBf16(c.lhs, rng), b = randomBf16(c.rhs, rng);
    Shape outShape;
    ref::Vec expected = ref::matmul(asDouble(a), c.lhs, c.tl, asDouble(b), c.rhs, c.tr, outShape);
    auto out = runOp(backend(), "matmul", {a, b}, {{outShape, off::DType::BF16}},
                     {{"transpose_lhs", c.tl}, {"transpose_rhs", c.tr}});
    EXPECT_LT(relativeError(out[0], expected), kBf16Tolerance)
        << ::testing::PrintToString(c.lhs) << " x " << ::testing::PrintToString(c.rhs)
        << " tl=" << c.tl << " tr=" << c.tr;
  }
  // Mixed operand dtypes are refused, as the dialect's verifier does.
  HostTensor a = randomBf16({4, 4}, rng);
  HostTensor b = randomF32({4, 4}, rng);
  EXPECT_THROW(runOp(backend(), "matmul", {a, b}, {{{4, 4}, off::DType::BF16}}),
               std::invalid_argument);
}

TEST_P(Bf16Conformance, ElementwiseAddAndSwiglu) {
  std::mt19937 rng(102);
  // The gradient accumulation add (same shapes) and a broadcast one.
  for (auto [as, bs] : {std::pair{Shape{3, 37}, Shape{3, 37}}, std::pair{Shape{2, 3, 5}, Shape{5}}}) {
    HostTensor a = randomBf16(as, rng), b = randomBf16(bs, rng);
    Shape outShape;
    ref::Vec expected = ref::binary('+', asDouble(a), as, asDouble(b), bs, outShape);
    auto out = expectWidenedFp32("add", {a, b}, {{outShape, off::DType::BF16}});
    EXPECT_LT(relativeError(out[0], expected), kBf16Tolerance);
  }
  HostTensor gate = randomBf16({3, 29}, rng, -5.0, 5.0), up = randomBf16({3, 29}, rng);
  auto out = expectWidenedFp32("swiglu", {gate, up}, {{gate.shape, off::DType::BF16}});
  EXPECT_LT(relativeError(out[0], ref::swiglu(asDouble(gate), asDouble(up))), kBf16Tolerance);
  HostTensor dy = randomBf16(gate.shape, rng);
  auto grads = expectWidenedFp32("swiglu_grad", {gate, up, dy},
                                 {{gate.shape, off::DType::BF16}, {gate.shape, off::DType::BF16}});
  std::vector<double> gd = asDouble(gate), ud = asDouble(up), dyd = asDouble(dy);
  auto fdGate = finiteDifferences(gd, dyd, [&](const ref::Vec &x) { return ref::swiglu(x, ud); });
  EXPECT_LT(relativeError(grads[0], fdGate), kBf16Tolerance) << "dgate";
}

TEST_P(Bf16Conformance, AttentionAndItsGradient) {
  std::mt19937 rng(103);
  const ref::AttentionShape shapes[] = {
      {2, 4, 2, 5, 7, 6, 5, true, 1.0 / std::sqrt(6.0)},
      {1, 2, 1, 70, 70, 8, 8, true, 1.0 / std::sqrt(8.0)},
  };
  for (const ref::AttentionShape &s : shapes) {
    HostTensor q = randomBf16({s.B, s.Hq, s.T, s.D}, rng, -2.0, 2.0);
    HostTensor k = randomBf16({s.B, s.Hkv, s.S, s.D}, rng, -2.0, 2.0);
    HostTensor v = randomBf16({s.B, s.Hkv, s.S, s.Dv}, rng);
    KernelAttrs attrs{{"causal", s.causal}};
    auto out = expectWidenedFp32("attention", {q, k, v},
                                 {{{s.B, s.Hq, s.T, s.Dv}, off::DType::BF16}}, attrs);
    EXPECT_LT(relativeError(out[0], ref::attention(asDouble(q), asDouble(k), asDouble(v), s)),
              kBf16Tolerance);
    HostTensor dout = randomBf16({s.B, s.Hq, s.T, s.Dv}, rng);
    auto grads = expectWidenedFp32(
        "attention_grad", {q, k, v, dout},
        {{q.shape, off::DType::BF16}, {k.shape, off::DType::BF16}, {v.shape, off::DType::BF16}},
        attrs);
    std::vector<double> qd = asDouble(q), kd = asDouble(k), vd = asDouble(v);
    auto fdV = finiteDifferences(vd, asDouble(dout), [&](const ref::Vec &x) {
      return ref::attention(qd, kd, x, s);
    });
    EXPECT_LT(relativeError(grads[2], fdV), kBf16Tolerance) << "dv";
  }
}

TEST_P(Bf16Conformance, RopeAndRmsNormOnBf16Inputs) {
  std::mt19937 rng(104);
  const int64_t B = 2, H = 3, T = 5, D = 8;
  HostTensor x = randomBf16({B, H, T, D}, rng);
  RopeTables tables = ropeTables(T, D, 10000.0);
  auto rope = expectWidenedFp32("rope", {x, toDtype(tables.cos, off::DType::BF16),
                                         toDtype(tables.sin, off::DType::BF16)},
                                {{x.shape, off::DType::BF16}});
  HostTensor rows = randomBf16({7, 33}, rng, -2.0, 2.0), w = randomBf16({33}, rng, 0.5, 1.5);
  auto norm = expectWidenedFp32("rms_norm", {rows, w}, {{rows.shape, off::DType::BF16}},
                                {{"eps", 1e-5}});
  EXPECT_LT(relativeError(norm[0], ref::rmsNorm(asDouble(rows), 33, asDouble(w), 1e-5)),
            kBf16Tolerance);
}

TEST_P(Bf16Conformance, GlobalNormOverF32AndBf16Gradients) {
  std::mt19937 rng(105);
  HostTensor a = randomF32({70000}, rng), b = randomBf16({3, 41}, rng), c = randomBf16({66000}, rng);
  auto mixed = runOp(backend(), "global_norm", {a, b, c}, {{{}}});
  auto widened = runOp(backend(), "global_norm",
                       {a, toDtype(b, off::DType::F32), toDtype(c, off::DType::F32)}, {{{}}});
  EXPECT_TRUE(sameBits(mixed[0], widened[0])) << "a bf16 tensor adds what its f32 cast would";
  double expected = ref::globalNorm({asDouble(a), asDouble(b), asDouble(c)});
  EXPECT_NEAR(mixed[0].at(0), expected, 1e-6 * expected);
}

TEST_P(Bf16Conformance, NormPartialOfBf16IsItsF32Cast) {
  std::mt19937 rng(107);
  HostTensor b = randomBf16({66000}, rng);
  auto mixed = runOp(backend(), "norm_partial", {b}, {{{2}, off::DType::F64}});
  auto widened = runOp(backend(), "norm_partial", {toDtype(b, off::DType::F32)},
                       {{{2}, off::DType::F64}});
  EXPECT_TRUE(sameBits(mixed[0], widened[0])) << "a bf16 tensor adds what its f32 cast would";
}

TEST_P(Bf16Conformance, AdamStepReadsBf16GradientsAndWritesTheCopy) {
  std::mt19937 rng(106);
  const Shape shape{37, 5};
  HostTensor p = randomF32(shape, rng), m = randomF32(shape, rng, -0.1, 0.1);
  HostTensor v = randomF32(shape, rng, 0.0, 0.01), g = randomBf16(shape, rng);
  HostTensor norm = f32Tensor({}, {3.0});
  KernelAttrs attrs{{"lr", 1e-2}, {"beta1", 0.9}, {"beta2", 0.99}, {"eps", 1e-8},
                    {"weight_decay", 0.1}, {"max_grad_norm", 1.0}};
  auto ours = runOp(backend(), "adam_step", {p, g, m, v, norm},
                    {{shape}, {shape}, {shape}, {shape, off::DType::BF16}}, attrs);
  auto fp32 = runOp(backend(), "adam_step", {p, toDtype(g, off::DType::F32), m, v, norm},
                    {{shape}, {shape}, {shape}}, attrs);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(sameBits(ours[size_t(i)], fp32[size_t(i)])) << "output " << i;
  EXPECT_TRUE(sameBits(ours[3], toDtype(fp32[0], off::DType::BF16)))
      << "the copy is the updated master rounded to bf16";
}

} // namespace
