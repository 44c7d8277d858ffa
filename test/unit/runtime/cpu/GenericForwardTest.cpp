// Conformance: the generic ops (matmul, element-wise, reductions, softmax,
// movement, casts, global_norm) against the naive double references of
// Reference.h, on small odd shapes, with broadcasting.
#include "test/unit/runtime/cpu/ConformanceBackends.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"
#include "test/unit/runtime/cpu/Reference.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace off::test;
using off::backend::AttrValue;

namespace {

class GenericForward : public Conformance {};
OFF_CONFORMANCE_SUITE(GenericForward);

AttrValue I(int64_t v) { return AttrValue(v); }
AttrValue Ints(std::vector<int64_t> v) { return AttrValue(std::move(v)); }

struct MatmulCase {
  Shape lhs, rhs;
  bool tl, tr;
};

// Each element of a product of K terms: about sqrt(K) roundings of the
// largest term; 1e-6 of the result's scale is far above that here.
constexpr double kMatmulTolerance = 1e-6;

TEST_P(GenericForward, MatmulMatchesReferenceWithTransposesAndBroadcastBatches) {
  std::mt19937 rng(11);
  const MatmulCase cases[] = {
      {{5, 7}, {7, 3}, false, false},
      {{7, 5}, {7, 3}, true, false},
      {{5, 7}, {3, 7}, false, true},
      {{7, 5}, {3, 7}, true, true},
      {{2, 3, 5, 7}, {7, 4}, false, false},        // a Linear on [B, T, C]
      {{2, 3, 5, 7}, {9, 7}, false, true},         // y = x W^T
      {{3, 7, 5}, {2, 1, 7, 6}, true, false},      // both batches broadcast
      {{1, 5, 7}, {4, 7, 6}, false, false},        // lhs batch of 1
      {{2, 1, 5, 7}, {3, 6, 7}, false, true},      // out batch [2, 3]
      {{130, 33}, {33, 70}, false, false},         // big enough to be blocked
      {{300, 260}, {270, 260}, false, true},       // blocked in both M and N
      {{2, 300, 40}, {2, 260, 40}, false, true},   // batched, blocked
  };
  for (const MatmulCase &c : cases) {
    HostTensor a = randomF32(c.lhs, rng), b = randomF32(c.rhs, rng);
    Shape outShape;
    ref::Vec expected = ref::matmul(asDouble(a), c.lhs, c.tl, asDouble(b), c.rhs, c.tr, outShape);
    auto out = runOp(backend(), "matmul", {a, b}, {{outShape}},
                     {{"transpose_lhs", c.tl}, {"transpose_rhs", c.tr}});
    EXPECT_LT(relativeError(out[0], expected), kMatmulTolerance)
        << ::testing::PrintToString(c.lhs) << " x " << ::testing::PrintToString(c.rhs)
        << " tl=" << c.tl << " tr=" << c.tr;
  }
}

TEST_P(GenericForward, BinaryOpsBroadcastAsNumPy) {
  std::mt19937 rng(12);
  const std::pair<Shape, Shape> shapes[] = {
      {{3, 5}, {3, 5}},       {{2, 3, 5}, {5}},      {{2, 3, 5}, {3, 1}},
      {{4, 1, 5}, {1, 3, 1}}, {{1}, {2, 3}},         {{}, {3, 2}},
      {{2, 1, 3, 1}, {7, 1, 1}}, {{5, 1}, {1, 5}},      {{37, 29}, {37, 29}},
      {{3, 70, 41}, {41}},    {{3, 70, 41}, {3, 70, 1}},
  };
  const std::pair<const char *, char> ops[] = {{"add", '+'}, {"sub", '-'}, {"mul", '*'},
                                               {"div", '/'}};
  for (auto [as, bs] : shapes)
    for (auto [name, symbol] : ops) {
      HostTensor a = randomF32(as, rng, 0.5, 2.0), b = randomF32(bs, rng, 0.5, 2.0);
      Shape outShape;
      ref::Vec expected = ref::binary(symbol, asDouble(a), as, asDouble(b), bs, outShape);
      auto out = runOp(backend(), name, {a, b}, {{outShape}});
      // One f32 operation per element: within half an ulp of the exact value.
      EXPECT_LT(relativeError(out[0], expected), 1e-7)
          << name << " " << ::testing::PrintToString(as) << " " << ::testing::PrintToString(bs);
    }
}

TEST_P(GenericForward, UnaryOpsMatchTheirDefinitions) {
  std::mt19937 rng(13);
  for (const char *op : {"neg", "exp", "sqrt", "rsqrt", "silu", "sigmoid"}) {
    bool positive = std::strcmp(op, "sqrt") == 0 || std::strcmp(op, "rsqrt") == 0;
    HostTensor x = randomF32({3, 37}, rng, positive ? 0.1 : -4.0, 4.0);
    auto out = runOp(backend(), op, {x}, {{x.shape}});
    std::vector<double> xs = asDouble(x);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double expected = ref::unary(op, xs[size_t(i)]);
      EXPECT_NEAR(out[0].at(i), expected, 4e-7 * std::abs(expected)) << op << " at " << xs[size_t(i)];
    }
  }
}

TEST_P(GenericForward, ReductionsOverAnyAxes) {
  std::mt19937 rng(14);
  const Shape shape = {3, 4, 5, 6};
  const std::vector<std::vector<int64_t>> axesCases = {
      {3}, {0}, {1, 2}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {}, {2}};
  HostTensor x = randomF32(shape, rng);
  for (const char *op : {"sum", "mean", "max"})
    for (const auto &axes : axesCases)
      for (bool keep : {false, true}) {
        Shape outShape;
        for (int64_t d = 0; d < 4; ++d) {
          bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
          if (!reduced)
            outShape.push_back(shape[size_t(d)]);
          else if (keep)
            outShape.push_back(1);
        }
        auto out = runOp(backend(), std::string("reduce_") + op, {x}, {{outShape}},
                         {{"axes", Ints(axes)}, {"keepdims", keep}});
        EXPECT_LT(relativeError(out[0], ref::reduce(op, asDouble(x), shape, axes)), 1e-7)
            << op << " axes " << ::testing::PrintToString(axes) << " keepdims " << keep;
      }
}

TEST_P(GenericForward, SoftmaxAlongEachAxis) {
  std::mt19937 rng(15);
  const Shape shape = {3, 5, 7};
  HostTensor x = randomF32(shape, rng, -5.0, 5.0);
  for (int64_t axis = 0; axis < 3; ++axis) {
    auto out = runOp(backend(), "softmax", {x}, {{shape}}, {{"axis", I(axis)}});
    EXPECT_LT(relativeError(out[0], ref::softmax(asDouble(x), shape, axis)), 1e-6)
        << "axis " << axis;
  }
  // Large logits: the max is subtracted before exp.
  HostTensor big = f32Tensor({1, 3}, {1000.0, 1001.0, 999.0});
  auto out = runOp(backend(), "softmax", {big}, {{{1, 3}}}, {{"axis", I(1)}});
  EXPECT_LT(relativeError(out[0], ref::softmax(asDouble(big), {1, 3}, 1)), 1e-6);
}

TEST_P(GenericForward, TransposeAnyPermutation) {
  std::mt19937 rng(16);
  const Shape shape = {2, 3, 4, 5};
  HostTensor x = randomF32(shape, rng);
  const std::vector<std::vector<int64_t>> perms = {
      {0, 2, 1, 3}, {3, 2, 1, 0}, {0, 1, 3, 2}, {1, 0, 2, 3}, {0, 1, 2, 3}, {2, 0, 3, 1}};
  for (const auto &perm : perms) {
    Shape outShape;
    for (int64_t p : perm)
      outShape.push_back(shape[size_t(p)]);
    auto out = runOp(backend(), "transpose", {x}, {{outShape}}, {{"perm", Ints(perm)}});
    EXPECT_EQ(out[0].toDouble(), ref::transpose(asDouble(x), shape, perm))
        << ::testing::PrintToString(perm);
  }
  // Elements of another size (i64) move the same way.
  HostTensor ids = randomIds({3, 4, 2}, 1000, rng, DType::I64);
  auto out = runOp(backend(), "transpose", {ids}, {{{2, 4, 3}, DType::I64}},
                   {{"perm", Ints({2, 1, 0})}});
  EXPECT_EQ(out[0].toDouble(), ref::transpose(ids.toDouble(), {3, 4, 2}, {2, 1, 0}));
}

TEST_P(GenericForward, SliceConcatReshapeBroadcastTo) {
  std::mt19937 rng(17);
  HostTensor x = randomF32({3, 11, 4}, rng);
  struct SliceCase {
    int64_t axis, start, end, step;
  };
  for (SliceCase s : {SliceCase{1, 2, 9, 3}, SliceCase{1, 0, 11, 1}, SliceCase{2, 1, 3, 1},
                      SliceCase{0, 1, 3, 2}, SliceCase{1, 5, 5, 1}}) {
    ref::Vec expected = ref::slice(asDouble(x), x.shape, s.axis, s.start, s.end, s.step);
    Shape outShape = x.shape;
    outShape[size_t(s.axis)] = s.end <= s.start ? 0 : (s.end - s.start + s.step - 1) / s.step;
    auto out = runOp(backend(), "slice", {x}, {{outShape}},
                     {{"axis", I(s.axis)}, {"start", I(s.start)}, {"end", I(s.end)},
                      {"step", I(s.step)}});
    EXPECT_EQ(out[0].toDouble(), expected) << "axis " << s.axis << " start " << s.start;
  }

  HostTensor a = randomF32({2, 3, 4}, rng), b = randomF32({2, 1, 4}, rng),
             c = randomF32({2, 5, 4}, rng);
  auto joined = runOp(backend(), "concat", {a, b, c}, {{{2, 9, 4}}}, {{"axis", I(1)}});
  EXPECT_EQ(joined[0].toDouble(),
            ref::concat({asDouble(a), asDouble(b), asDouble(c)}, {a.shape, b.shape, c.shape}, 1));
  HostTensor d = randomF32({2, 3, 1}, rng);
  auto last = runOp(backend(), "concat", {a, d}, {{{2, 3, 5}}}, {{"axis", I(2)}});
  EXPECT_EQ(last[0].toDouble(), ref::concat({asDouble(a), asDouble(d)}, {a.shape, d.shape}, 2));

  auto reshaped = runOp(backend(), "reshape", {a}, {{{6, 4}}});
  EXPECT_EQ(reshaped[0].toDouble(), asDouble(a));

  for (auto [from, to] : {std::pair<Shape, Shape>{{3, 1}, {2, 3, 5}}, {{5}, {4, 5}},
                          {{1, 1}, {3, 2}}, {{2, 1, 3}, {2, 4, 3}}}) {
    HostTensor s = randomF32(from, rng);
    auto out = runOp(backend(), "broadcast_to", {s}, {{to}});
    EXPECT_EQ(out[0].toDouble(), ref::broadcastTo(asDouble(s), from, to))
        << ::testing::PrintToString(from) << " -> " << ::testing::PrintToString(to);
  }
}

TEST_P(GenericForward, GatherWithNegativeIndicesOnAnyAxis) {
  std::mt19937 rng(18);
  HostTensor data = randomF32({4, 6, 3}, rng);
  for (DType dtype : {DType::I32, DType::I64}) {
    std::vector<int64_t> idx = {5, 0, -1, 2, 2, -6};
    HostTensor indices = indexTensor({2, 3}, idx, dtype);
    auto out = runOp(backend(), "gather", {data, indices}, {{{4, 2, 3, 3}}}, {{"axis", I(1)}});
    EXPECT_EQ(out[0].toDouble(), ref::gather(asDouble(data), data.shape, idx, 1));
    std::vector<int64_t> rows = {3, 0, -4};
    auto first = runOp(backend(), "gather", {data, indexTensor({3}, rows, dtype)},
                       {{{3, 6, 3}}}, {{"axis", I(0)}});
    EXPECT_EQ(first[0].toDouble(), ref::gather(asDouble(data), data.shape, rows, 0));
  }
}

TEST_P(GenericForward, CastsRoundToNearestEven) {
  // bf16 keeps the top 16 bits of an f32 (7 mantissa bits): near 1 its ulp
  // is 2^-7, so 1 + k * 2^-8 with k odd is an exact tie.
  std::vector<double> values = {1.0,     1.0 + 1.0 / 128,    1.0 + 1.0 / 256,   1.0 + 3.0 / 256,
                                -2.5,    1.0 + 1.0 / 256 + 1.0 / 65536,      0.0, -0.0,
                                65504.0, 3.0e38, 1e-40};
  HostTensor x = f32Tensor({int64_t(values.size())}, values);
  auto out = runOp(backend(), "cast", {x}, {{x.shape, DType::BF16}});
  const uint16_t *bits = out[0].as<uint16_t>();
  for (size_t i = 0; i < values.size(); ++i) {
    // Reference: the nearer of the two bf16 neighbours, even on a tie.
    uint32_t f;
    float v = x.f32()[i];
    std::memcpy(&f, &v, 4);
    uint32_t lo = f & 0xFFFF0000u, hi = lo + 0x10000u, rest = f & 0xFFFFu;
    uint32_t expected = rest < 0x8000u ? lo : rest > 0x8000u ? hi : ((lo >> 16) & 1 ? hi : lo);
    EXPECT_EQ(bits[i], uint16_t(expected >> 16)) << "value " << values[i];
  }
  EXPECT_EQ(bits[1], 0x3F81); // 1 + 2^-7 is representable
  EXPECT_EQ(bits[2], 0x3F80); // 1 + 2^-8: a tie, to even (down)
  EXPECT_EQ(bits[3], 0x3F82); // 1 + 3 * 2^-8: a tie, to even (up)
  EXPECT_EQ(bits[5], 0x3F81); // just above the tie: up
  // And back: every bf16 value is exact in f32.
  auto back = runOp(backend(), "cast", {out[0]}, {{x.shape, DType::F32}});
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t f = uint32_t(bits[i]) << 16;
    float expected;
    std::memcpy(&expected, &f, 4);
    EXPECT_EQ(std::memcmp(&back[0].f32()[i], &expected, 4), 0);
  }
  // NaN stays NaN.
  HostTensor nan = f32Tensor({1}, {std::numeric_limits<double>::quiet_NaN()});
  auto nanOut = runOp(backend(), "cast", {nan}, {{{1}, DType::BF16}});
  EXPECT_EQ(nanOut[0].as<uint16_t>()[0], 0x7FC0);
  // Integers.
  HostTensor ids = indexTensor({3}, {-7, 0, 123456}, DType::I32);
  auto wide = runOp(backend(), "cast", {ids}, {{{3}, DType::I64}});
  EXPECT_EQ(wide[0].toDouble(), (std::vector<double>{-7, 0, 123456}));
  auto asFloat = runOp(backend(), "cast", {ids}, {{{3}, DType::F32}});
  EXPECT_EQ(asFloat[0].toDouble(), (std::vector<double>{-7, 0, 123456}));
}

TEST_P(GenericForward, GlobalNormOfSeveralTensors) {
  std::mt19937 rng(19);
  HostTensor a = randomF32({37, 5}, rng), b = randomF32({3}, rng), c = randomF32({70000}, rng);
  auto out = runOp(backend(), "global_norm", {a, b, c}, {{{}}});
  double expected = ref::globalNorm({asDouble(a), asDouble(b), asDouble(c)});
  EXPECT_NEAR(out[0].at(0), expected, 1e-7 * expected);
}

// norm_partial and norm_combine (off-split-norm) are global_norm in two
// halves: the same bits for the same tensors in the same order, and each
// block sum the sum of squares of its 65536 elements.
TEST_P(GenericForward, NormHalvesAreGlobalNormBitForBit) {
  std::mt19937 rng(23);
  std::vector<HostTensor> grads = {randomF32({37, 5}, rng), randomF32({3}, rng),
                                   randomF32({140000}, rng), randomF32({65536}, rng)};
  std::vector<HostTensor> partials;
  for (const HostTensor &g : grads) {
    int64_t blocks = (g.numel() + 65535) / 65536;
    HostTensor p = runOp(backend(), "norm_partial", {g}, {{{blocks}, DType::F64}})[0];
    std::vector<double> x = asDouble(g);
    for (int64_t b = 0; b < blocks; ++b) {
      double want = 0.0;
      for (int64_t i = b * 65536; i < std::min<int64_t>(g.numel(), (b + 1) * 65536); ++i)
        want += x[size_t(i)] * x[size_t(i)];
      EXPECT_NEAR(p.as<double>()[b], want, 1e-13 * want) << "block " << b << " of " << g.numel();
    }
    partials.push_back(std::move(p));
  }
  auto whole = runOp(backend(), "global_norm", grads, {{{}}});
  auto halves = runOp(backend(), "norm_combine", partials, {{{}}});
  EXPECT_TRUE(sameBits(whole[0], halves[0]))
      << whole[0].at(0) << " vs " << halves[0].at(0);
  // Swapping two partials changes the order of the sums, not the check:
  // the combine adds what it is given, in order.
  std::swap(partials[1], partials[2]);
  auto swapped = runOp(backend(), "norm_combine", partials, {{{}}});
  std::swap(grads[1], grads[2]);
  EXPECT_TRUE(sameBits(runOp(backend(), "global_norm", grads, {{{}}})[0], swapped[0]));
}

TEST_P(GenericForward, NormPartialRefusesAWrongBlockCount) {
  std::mt19937 rng(24);
  HostTensor g = randomF32({70000}, rng);
  EXPECT_THROW(runOp(backend(), "norm_partial", {g}, {{{1}, DType::F64}}), std::invalid_argument);
  EXPECT_THROW(runOp(backend(), "norm_partial", {g}, {{{2}, DType::F32}}), std::invalid_argument);
}

} // namespace
