// Conformance: every gradient kernel against central finite differences, in
// double, of the naive reference of its forward op (Reference.h). With an
// output gradient dy, the kernel's input gradient must equal
// d(sum(dy * forward(x))) / dx. The FD step 1e-5 in double leaves an error
// near 1e-10; the f32 kernels are held to 1e-5 of the gradient's scale.
#include "test/unit/runtime/cpu/ConformanceBackends.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"
#include "test/unit/runtime/cpu/Reference.h"
#include "test/unit/runtime/cpu/RopeTables.h"

#include <cmath>

using namespace off::test;
using off::backend::AttrValue;

namespace {

class Gradients : public Conformance {};
OFF_CONFORMANCE_SUITE(Gradients);

constexpr double kTolerance = 1e-5;

AttrValue I(int64_t v) { return AttrValue(v); }

TEST_P(Gradients, RmsNormGrad) {
  std::mt19937 rng(31);
  const int64_t C = 19;
  const double eps = 1e-5;
  HostTensor x = randomF32({2, 3, C}, rng, -2.0, 2.0), w = randomF32({C}, rng, 0.5, 1.5);
  HostTensor dy = randomF32(x.shape, rng);
  auto grads = runOp(backend(), "rms_norm_grad", {x, w, dy}, {{x.shape}, {{C}}}, {{"eps", eps}});
  std::vector<double> xd = asDouble(x), wd = asDouble(w), dyd = asDouble(dy);
  auto fdX = finiteDifferences(xd, dyd, [&](const ref::Vec &v) {
    return ref::rmsNorm(v, C, wd, eps);
  });
  auto fdW = finiteDifferences(wd, dyd, [&](const ref::Vec &v) {
    return ref::rmsNorm(xd, C, v, eps);
  });
  EXPECT_LT(relativeError(grads[0], fdX), kTolerance) << "dx";
  EXPECT_LT(relativeError(grads[1], fdW), kTolerance) << "dweight";
}

TEST_P(Gradients, RopeGrad) {
  std::mt19937 rng(32);
  const int64_t B = 2, H = 2, T = 5, D = 6;
  HostTensor dy = randomF32({B, H, T, D}, rng), x = randomF32({B, H, T, D}, rng);
  RopeTables tables = ropeTables(T, D, 500.0);
  auto dx = runOp(backend(), "rope_grad", {dy, tables.cos, tables.sin}, {{dy.shape}});
  std::vector<double> cosd = asDouble(tables.cos), sind = asDouble(tables.sin);
  auto fd = finiteDifferences(asDouble(x), asDouble(dy), [&](const ref::Vec &v) {
    return ref::rope(v, B, H, T, D, cosd, sind);
  });
  EXPECT_LT(relativeError(dx[0], fd), kTolerance);
}

struct AttentionGradCase {
  ref::AttentionShape s;
  const char *what;
};

TEST_P(Gradients, AttentionGradGqaCausal) {
  std::mt19937 rng(33);
  const AttentionGradCase cases[] = {
      {{2, 4, 2, 5, 7, 6, 5, true, 1.0 / std::sqrt(6.0)}, "causal GQA, T < S"},
      {{1, 2, 2, 3, 3, 4, 4, false, 0.8}, "non-causal MHA, explicit scale"},
      {{1, 3, 1, 4, 4, 3, 2, true, 1.0 / std::sqrt(3.0)}, "causal MQA"},
      {{1, 2, 1, 67, 69, 2, 2, true, 1.0 / std::sqrt(2.0)}, "two query blocks"},
  };
  for (const AttentionGradCase &c : cases) {
    const ref::AttentionShape &s = c.s;
    HostTensor q = randomF32({s.B, s.Hq, s.T, s.D}, rng, -1.5, 1.5);
    HostTensor k = randomF32({s.B, s.Hkv, s.S, s.D}, rng, -1.5, 1.5);
    HostTensor v = randomF32({s.B, s.Hkv, s.S, s.Dv}, rng);
    HostTensor dout = randomF32({s.B, s.Hq, s.T, s.Dv}, rng);
    off::backend::KernelAttrs attrs{{"causal", s.causal}};
    if (std::abs(s.scale - 1.0 / std::sqrt(double(s.D))) > 1e-12)
      attrs.set("scale", s.scale);
    auto grads = runOp(backend(), "attention_grad", {q, k, v, dout},
                       {{q.shape}, {k.shape}, {v.shape}}, attrs);
    std::vector<double> qd = asDouble(q), kd = asDouble(k), vd = asDouble(v);
    std::vector<double> dod = asDouble(dout);
    auto fdQ = finiteDifferences(qd, dod, [&](const ref::Vec &x) {
      return ref::attention(x, kd, vd, s);
    });
    auto fdK = finiteDifferences(kd, dod, [&](const ref::Vec &x) {
      return ref::attention(qd, x, vd, s);
    });
    auto fdV = finiteDifferences(vd, dod, [&](const ref::Vec &x) {
      return ref::attention(qd, kd, x, s);
    });
    EXPECT_LT(relativeError(grads[0], fdQ), kTolerance) << c.what << ": dq";
    EXPECT_LT(relativeError(grads[1], fdK), kTolerance) << c.what << ": dk";
    EXPECT_LT(relativeError(grads[2], fdV), kTolerance) << c.what << ": dv";
  }
}

TEST_P(Gradients, SwigluGrad) {
  std::mt19937 rng(34);
  HostTensor gate = randomF32({3, 29}, rng, -5.0, 5.0), up = randomF32({3, 29}, rng);
  HostTensor dy = randomF32(gate.shape, rng);
  auto grads = runOp(backend(), "swiglu_grad", {gate, up, dy}, {{gate.shape}, {gate.shape}});
  std::vector<double> gd = asDouble(gate), ud = asDouble(up), dyd = asDouble(dy);
  auto fdGate = finiteDifferences(gd, dyd, [&](const ref::Vec &x) { return ref::swiglu(x, ud); });
  auto fdUp = finiteDifferences(ud, dyd, [&](const ref::Vec &x) { return ref::swiglu(gd, x); });
  EXPECT_LT(relativeError(grads[0], fdGate), kTolerance) << "dgate";
  EXPECT_LT(relativeError(grads[1], fdUp), kTolerance) << "dup";
}

TEST_P(Gradients, EmbeddingGradAddsRepeatedIds) {
  std::mt19937 rng(35);
  const int64_t V = 9, C = 7;
  std::vector<int64_t> ids = {4, 0, 4, 8, 2, 4, 0};
  HostTensor table = randomF32({V, C}, rng), dy = randomF32({7, C}, rng);
  for (DType dtype : {DType::I32, DType::I64}) {
    auto dt = runOp(backend(), "embedding_grad", {indexTensor({7}, ids, dtype), dy},
                    {{{V, C}}}, {{"vocab_size", I(V)}});
    auto fd = finiteDifferences(asDouble(table), asDouble(dy), [&](const ref::Vec &t) {
      return ref::embedding(t, C, ids);
    });
    EXPECT_LT(relativeError(dt[0], fd), kTolerance);
    // Rows no id touches are exactly zero.
    for (int64_t c = 0; c < C; ++c)
      EXPECT_EQ(dt[0].at(1 * C + c), 0.0f);
  }
}

TEST_P(Gradients, CrossEntropyGrad) {
  std::mt19937 rng(36);
  const int64_t V = 11;
  HostTensor logits = randomF32({2, 3, V}, rng, -3.0, 3.0);
  std::vector<int64_t> targets = {0, 10, 3, 3, 7, 5};
  const double dloss = 0.75;
  auto d = runOp(backend(), "cross_entropy_grad",
                 {logits, indexTensor({2, 3}, targets, DType::I32), f32Tensor({}, {dloss})},
                 {{logits.shape}});
  auto fd = finiteDifferences(asDouble(logits), {dloss}, [&](const ref::Vec &x) {
    return ref::Vec{ref::crossEntropy(x, V, targets)};
  });
  EXPECT_LT(relativeError(d[0], fd), kTolerance);
}

TEST_P(Gradients, SoftmaxGrad) {
  std::mt19937 rng(37);
  const Shape shape = {3, 6, 5};
  HostTensor x = randomF32(shape, rng, -3.0, 3.0), dy = randomF32(shape, rng);
  for (int64_t axis : {2, 1, 0}) {
    HostTensor y = f32Tensor(shape, ref::softmax(asDouble(x), shape, axis));
    auto dx = runOp(backend(), "softmax_grad", {y, dy}, {{shape}}, {{"axis", I(axis)}});
    auto fd = finiteDifferences(asDouble(x), asDouble(dy), [&](const ref::Vec &v) {
      return ref::softmax(v, shape, axis);
    });
    // y is the f32 rounding of the exact softmax: its error (6e-8 of y)
    // carries into dx, hence a slightly larger bound than the others.
    EXPECT_LT(relativeError(dx[0], fd), 2e-5) << "axis " << axis;
  }
}

TEST_P(Gradients, SliceGradAndGatherGrad) {
  std::mt19937 rng(38);
  HostTensor x = randomF32({3, 10, 2}, rng);
  const int64_t axis = 1, start = 1, end = 9, step = 3; // picks 1, 4, 7
  HostTensor dy = randomF32({3, 3, 2}, rng);
  auto dx = runOp(backend(), "slice_grad", {dy}, {{x.shape}},
                  {{"axis", I(axis)}, {"start", I(start)}, {"end", I(end)}, {"step", I(step)}});
  auto fd = finiteDifferences(asDouble(x), asDouble(dy), [&](const ref::Vec &v) {
    return ref::slice(v, x.shape, axis, start, end, step);
  });
  EXPECT_LT(relativeError(dx[0], fd), kTolerance);

  HostTensor data = randomF32({2, 5, 3}, rng);
  std::vector<int64_t> indices = {4, -1, 0, 2, 4, -5};
  for (DType dtype : {DType::I32, DType::I64}) {
    HostTensor gdy = randomF32({2, 2, 3, 3}, rng);
    auto dd = runOp(backend(), "gather_grad", {indexTensor({2, 3}, indices, dtype), gdy},
                    {{data.shape}}, {{"axis", I(1)}});
    auto fdData = finiteDifferences(asDouble(data), asDouble(gdy), [&](const ref::Vec &v) {
      return ref::gather(v, data.shape, indices, 1);
    });
    EXPECT_LT(relativeError(dd[0], fdData), kTolerance);
  }
}

TEST_P(Gradients, BroadcastToIsTheGradientOfReduceSum) {
  std::mt19937 rng(39);
  const Shape shape = {4, 3, 5};
  HostTensor x = randomF32(shape, rng), w = randomF32({4, 1, 5}, rng);
  auto g = runOp(backend(), "broadcast_to", {w}, {{shape}});
  auto fd = finiteDifferences(asDouble(x), asDouble(w), [&](const ref::Vec &v) {
    return ref::reduce("sum", v, shape, {1});
  });
  EXPECT_LT(relativeError(g[0], fd), kTolerance);
}

TEST_P(Gradients, MatmulWithTransposesGivesItsOwnGradients) {
  // The autodiff pass writes matmul's backward as matmuls: for C = A B,
  // dA = dC B^T and dB = A^T dC (with transpose flags, batch broadcast).
  std::mt19937 rng(40);
  const Shape as = {2, 5, 4}, bs = {4, 3};
  HostTensor a = randomF32(as, rng), b = randomF32(bs, rng), dc = randomF32({2, 5, 3}, rng);
  auto da = runOp(backend(), "matmul", {dc, b}, {{as}}, {{"transpose_rhs", true}});
  // dB = sum over the batch of A^T dC: as one matmul on [10, 4]^T x [10, 3].
  HostTensor a2 = a, dc2 = dc;
  a2.shape = {10, 4};
  dc2.shape = {10, 3};
  auto db = runOp(backend(), "matmul", {a2, dc2}, {{bs}}, {{"transpose_lhs", true}});
  Shape outShape;
  std::vector<double> ad = asDouble(a), bd = asDouble(b), dcd = asDouble(dc);
  auto fdA = finiteDifferences(ad, dcd, [&](const ref::Vec &v) {
    return ref::matmul(v, as, false, bd, bs, false, outShape);
  });
  auto fdB = finiteDifferences(bd, dcd, [&](const ref::Vec &v) {
    return ref::matmul(ad, as, false, v, bs, false, outShape);
  });
  EXPECT_LT(relativeError(da[0], fdA), kTolerance);
  EXPECT_LT(relativeError(db[0], fdB), kTolerance);
}

} // namespace
