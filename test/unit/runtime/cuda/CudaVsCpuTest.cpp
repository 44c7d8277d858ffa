// The CUDA backend against the CPU backend, op by op: every kernel of the
// CUDA table runs on random inputs of odd sizes through the backend
// interface (runOp: upload, launch on a stream, download) on both backends,
// and the results are compared with a tolerance per dtype: bit for bit for
// data movement, casts, the embedding and AdamW (the same IEEE operations in
// the same order); relative to the CPU result's scale for f32 arithmetic,
// whose sums run in another order on the GPU. A test checks that every op
// of the CUDA table has a case here.
//
// Needs a GPU: without one, main() prints why and exits 77, which ctest
// reports as skipped (SKIP_RETURN_CODE).
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cuda/CudaBackend.h"
#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <set>

namespace off::test {
namespace {

using backend::KernelAttrs;

struct Case {
  std::string name, op;
  std::function<std::vector<HostTensor>(std::mt19937 &)> inputs;
  std::vector<OutSpec> outputs;
  KernelAttrs attrs;
  double tolerance; // 0: bit for bit
};

HostTensor positive(Shape s, std::mt19937 &rng) { return randomF32(std::move(s), rng, 0.1, 2.0); }

HostTensor bf16Tensor(Shape s, std::mt19937 &rng) {
  HostTensor f = randomF32(s, rng, -3, 3), t(std::move(s), DType::BF16);
  for (int64_t i = 0; i < f.numel(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &f.f32()[i], 4);
    t.as<uint16_t>()[i] = uint16_t(bits >> 16);
  }
  return t;
}

constexpr double kF32 = 2e-5;   // element-wise and short sums
constexpr double kSums = 1e-4;  // long sums (matmul, attention, norms)

std::vector<Case> cases() {
  std::vector<Case> c;
  auto rnd = [](Shape s) { return [s](std::mt19937 &r) { return std::vector{randomF32(s, r)}; }; };
  auto rnd2 = [](Shape a, Shape b, double lo = -1, double hi = 1) {
    return [a, b, lo, hi](std::mt19937 &r) {
      return std::vector{randomF32(a, r), randomF32(b, r, lo, hi)};
    };
  };
  // matmul
  c.push_back({"matmul_batched", "matmul", rnd2({3, 5, 7}, {3, 7, 4}), {{{3, 5, 4}}}, {}, kSums});
  c.push_back({"matmul_transposed", "matmul", rnd2({3, 7, 5}, {3, 4, 7}), {{{3, 5, 4}}},
               {{"transpose_lhs", true}, {"transpose_rhs", true}}, kSums});
  c.push_back({"matmul_broadcast", "matmul", rnd2({2, 1, 5, 7}, {3, 7, 4}), {{{2, 3, 5, 4}}}, {},
               kSums});
  c.push_back({"matmul_shared_rhs", "matmul", rnd2({4, 33, 70}, {70, 65}), {{{4, 33, 65}}}, {},
               kSums});
  c.push_back({"matmul_large", "matmul", rnd2({130, 300}, {300, 97}), {{{130, 97}}}, {}, kSums});
  // element-wise
  for (const char *op : {"add", "sub", "mul"})
    c.push_back({std::string(op) + "_broadcast", op, rnd2({4, 1, 6}, {5, 1}), {{{4, 5, 6}}}, {},
                 kF32});
  c.push_back({"div_broadcast", "div", rnd2({4, 1, 6}, {5, 1}, 0.5, 2.0), {{{4, 5, 6}}}, {}, kF32});
  for (const char *op : {"neg", "exp", "silu", "sigmoid"})
    c.push_back({op, op, rnd({3, 7, 5}), {{{3, 7, 5}}}, {}, kF32});
  for (const char *op : {"sqrt", "rsqrt"})
    c.push_back({op, op, [](std::mt19937 &r) { return std::vector{positive({3, 7, 5}, r)}; },
                 {{{3, 7, 5}}}, {}, kF32});
  c.push_back({"broadcast_to", "broadcast_to", rnd({3, 1}), {{{2, 3, 4}}}, {}, 0});
  // reductions
  c.push_back({"reduce_sum", "reduce_sum", rnd({3, 5, 4}), {{{1, 5, 1}}},
               {{"axes", std::vector<int64_t>{0, 2}}, {"keepdims", true}}, kF32});
  c.push_back({"reduce_mean", "reduce_mean", rnd({3, 5, 4}), {{{3, 4}}},
               {{"axes", std::vector<int64_t>{1}}}, kF32});
  c.push_back({"reduce_max", "reduce_max", rnd({3, 5, 4}), {{{3, 5}}},
               {{"axes", std::vector<int64_t>{2}}}, 0});
  c.push_back({"softmax", "softmax", rnd({3, 5, 4}), {{{3, 5, 4}}}, {{"axis", int64_t(1)}}, kF32});
  c.push_back({"softmax_grad", "softmax_grad", rnd2({3, 37}, {3, 37}), {{{3, 37}}},
               {{"axis", int64_t(1)}}, kF32});
  c.push_back({"global_norm", "global_norm",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 5}, r), randomF32({70000}, r), randomF32({1}, r)};
               },
               {{{}}}, {}, kF32});
  // global_norm's halves: the CPU's order, so the same bits
  c.push_back({"norm_partial", "norm_partial", rnd({140000}), {{{3}, DType::F64}}, {}, 0});
  c.push_back({"norm_combine", "norm_combine",
               [](std::mt19937 &r) {
                 std::vector<HostTensor> in;
                 for (int64_t n : {3, 1, 2}) {
                   HostTensor t({n}, DType::F64);
                   HostTensor f = positive({n}, r);
                   for (int64_t i = 0; i < n; ++i)
                     t.as<double>()[i] = double(f.f32()[i]) * 1e3 / 3.0;
                   in.push_back(std::move(t));
                 }
                 return in;
               },
               {{{}}}, {}, 0});
  // data movement
  c.push_back({"reshape", "reshape", rnd({6, 4}), {{{24}}}, {}, 0});
  c.push_back({"transpose", "transpose", rnd({3, 5, 4}), {{{4, 3, 5}}},
               {{"perm", std::vector<int64_t>{2, 0, 1}}}, 0});
  KernelAttrs slice{{"axis", int64_t(1)}, {"start", int64_t(1)}, {"end", int64_t(7)},
                    {"step", int64_t(2)}};
  c.push_back({"slice", "slice", rnd({2, 8, 3}), {{{2, 3, 3}}}, slice, 0});
  c.push_back({"slice_grad", "slice_grad", rnd({2, 3, 3}), {{{2, 8, 3}}}, slice, 0});
  c.push_back({"concat", "concat", rnd2({2, 3, 4}, {2, 2, 4}), {{{2, 5, 4}}},
               {{"axis", int64_t(1)}}, 0});
  c.push_back({"gather", "gather",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 6, 2}, r), randomIds({5}, 6, r, DType::I64)};
               },
               {{{3, 5, 2}}}, {{"axis", int64_t(1)}}, 0});
  c.push_back({"gather_negative_indices", "gather",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 6, 2}, r),
                                    indexTensor({5}, {-1, 2, -6, 0, 5}, DType::I32)};
               },
               {{{3, 5, 2}}}, {{"axis", int64_t(1)}}, 0});
  c.push_back({"gather_grad_negative_indices", "gather_grad",
               [](std::mt19937 &r) {
                 return std::vector{indexTensor({4}, {-1, 5, 0, -6}, DType::I64),
                                    randomF32({2, 4, 3}, r)};
               },
               {{{2, 6, 3}}}, {{"axis", int64_t(1)}}, 0});
  c.push_back({"gather_grad", "gather_grad",
               [](std::mt19937 &r) {
                 return std::vector{indexTensor({5}, {1, 4, 1, 0, 1}, DType::I32),
                                    randomF32({3, 5, 2}, r)};
               },
               {{{3, 6, 2}}}, {{"axis", int64_t(1)}}, 0});
  c.push_back({"cast_f32_bf16", "cast", rnd({5, 7}), {{{5, 7}, DType::BF16}}, {}, 0});
  c.push_back({"cast_bf16_f32", "cast",
               [](std::mt19937 &r) { return std::vector{bf16Tensor({5, 7}, r)}; },
               {{{5, 7}, DType::F32}}, {}, 0});
  c.push_back({"cast_i32_i64", "cast",
               [](std::mt19937 &r) { return std::vector{randomIds({9}, 1000, r, DType::I32)}; },
               {{{9}, DType::I64}}, {}, 0});
  c.push_back({"cast_i64_f32", "cast",
               [](std::mt19937 &r) { return std::vector{randomIds({9}, 1 << 30, r, DType::I64)}; },
               {{{9}, DType::F32}}, {}, 0});
  // fused
  c.push_back({"rms_norm", "rms_norm", rnd2({3, 5, 40}, {40}), {{{3, 5, 40}}}, {{"eps", 1e-5}}, kF32});
  c.push_back({"rms_norm_grad", "rms_norm_grad",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 5, 40}, r), randomF32({40}, r),
                                    randomF32({3, 5, 40}, r)};
               },
               {{{3, 5, 40}}, {{40}}}, {{"eps", 1e-5}}, kSums});
  auto ropeInputs = [](std::mt19937 &r) {
    return std::vector{randomF32({2, 3, 5, 8}, r), randomF32({5, 8}, r), randomF32({5, 8}, r)};
  };
  c.push_back({"rope", "rope", ropeInputs, {{{2, 3, 5, 8}}}, {}, kF32});
  c.push_back({"rope_grad", "rope_grad", ropeInputs, {{{2, 3, 5, 8}}}, {}, kF32});
  auto attn = [](Shape q, Shape k, Shape v, bool grad) {
    return [=](std::mt19937 &r) {
      std::vector<HostTensor> in{randomF32(q, r), randomF32(k, r), randomF32(v, r)};
      if (grad)
        in.push_back(randomF32({q[0], q[1], q[2], v[3]}, r));
      return in;
    };
  };
  c.push_back({"attention_causal_gqa", "attention", attn({2, 4, 7, 16}, {2, 2, 7, 16}, {2, 2, 7, 16}, false),
               {{{2, 4, 7, 16}}}, {{"causal", true}}, kSums});
  c.push_back({"attention_full_longer_keys", "attention",
               attn({1, 2, 5, 40}, {1, 1, 9, 40}, {1, 1, 9, 24}, false), {{{1, 2, 5, 24}}}, {},
               kSums});
  c.push_back({"attention_grad_causal_gqa", "attention_grad",
               attn({2, 4, 7, 16}, {2, 2, 7, 16}, {2, 2, 7, 16}, true),
               {{{2, 4, 7, 16}}, {{2, 2, 7, 16}}, {{2, 2, 7, 16}}}, {{"causal", true}}, kSums});
  c.push_back({"attention_grad_causal_longer_keys", "attention_grad",
               attn({1, 2, 5, 40}, {1, 1, 9, 40}, {1, 1, 9, 24}, true),
               {{{1, 2, 5, 40}}, {{1, 1, 9, 40}}, {{1, 1, 9, 24}}}, {{"causal", true}}, kSums});
  c.push_back({"swiglu", "swiglu", rnd2({3, 50}, {3, 50}), {{{3, 50}}}, {}, kF32});
  c.push_back({"swiglu_grad", "swiglu_grad",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 50}, r), randomF32({3, 50}, r),
                                    randomF32({3, 50}, r)};
               },
               {{{3, 50}}, {{3, 50}}}, {}, kF32});
  c.push_back({"embedding", "embedding",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({11, 6}, r), randomIds({2, 5}, 11, r, DType::I32)};
               },
               {{{2, 5, 6}}}, {}, 0});
  c.push_back({"embedding_grad", "embedding_grad",
               [](std::mt19937 &r) {
                 return std::vector{indexTensor({2, 3}, {3, 1, 3, 0, 3, 1}, DType::I64),
                                    randomF32({2, 3, 6}, r)};
               },
               {{{11, 6}}}, {{"vocab_size", int64_t(11)}}, 0});
  c.push_back({"cross_entropy", "cross_entropy",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({2, 5, 37}, r, -4, 4), randomIds({2, 5}, 37, r)};
               },
               {{{}}}, {}, kF32});
  c.push_back({"cross_entropy_grad", "cross_entropy_grad",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({2, 5, 37}, r, -4, 4), randomIds({2, 5}, 37, r),
                                    f32Tensor({}, {0.7})};
               },
               {{{2, 5, 37}}}, {}, kF32});
  KernelAttrs adam{{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8},
                   {"weight_decay", 0.01}};
  auto adamInputs = [](bool norm) {
    return [norm](std::mt19937 &r) {
      std::vector<HostTensor> in{randomF32({3, 41}, r), randomF32({3, 41}, r),
                                 randomF32({3, 41}, r, -0.1, 0.1), positive({3, 41}, r)};
      if (norm)
        in.push_back(f32Tensor({}, {3.5}));
      return in;
    };
  };
  c.push_back({"adam_step", "adam_step", adamInputs(false), {{{3, 41}}, {{3, 41}}, {{3, 41}}},
               adam, 0});
  KernelAttrs clipped = adam;
  clipped.set("max_grad_norm", 1.0);
  c.push_back({"adam_step_clipped", "adam_step", adamInputs(true),
               {{{3, 41}}, {{3, 41}}, {{3, 41}}}, clipped, 0});
  // bf16 operands (offc compile --precision bf16-mixed). Bit for bit where
  // both backends do the same IEEE operations (AdamW, movement, norm
  // blocks); else the f32 tolerance plus one bf16 rounding of either side.
  auto bf = [](Shape s) { return [s](std::mt19937 &r) { return std::vector{bf16Tensor(s, r)}; }; };
  const DType B = DType::BF16;
  c.push_back({"bf16_matmul", "matmul",
               [](std::mt19937 &r) { return std::vector{bf16Tensor({3, 33, 70}, r), bf16Tensor({70, 65}, r)}; },
               {{{3, 33, 65}, B}}, {}, kSums});
  c.push_back({"bf16_matmul_transposed_batched", "matmul",
               [](std::mt19937 &r) { return std::vector{bf16Tensor({2, 40, 9}, r), bf16Tensor({2, 17, 40}, r)}; },
               {{{2, 9, 17}, B}}, {{"transpose_lhs", true}, {"transpose_rhs", true}}, kSums});
  c.push_back({"bf16_add_mixed", "add",
               [](std::mt19937 &r) { return std::vector{randomF32({4, 6}, r), bf16Tensor({6}, r)}; },
               {{{4, 6}}}, {}, kF32});
  c.push_back({"bf16_softmax", "softmax", bf({3, 37}), {{{3, 37}, B}}, {{"axis", int64_t(1)}}, kF32});
  c.push_back({"bf16_reduce_sum", "reduce_sum", bf({3, 5, 4}), {{{3, 4}, B}},
               {{"axes", std::vector<int64_t>{1}}}, kF32});
  c.push_back({"bf16_silu", "silu", bf({3, 7, 5}), {{{3, 7, 5}, B}}, {}, kF32});
  c.push_back({"bf16_mul_broadcast", "mul",
               [](std::mt19937 &r) { return std::vector{bf16Tensor({4, 1, 6}, r), bf16Tensor({5, 1}, r)}; },
               {{{4, 5, 6}, B}}, {}, kF32});
  c.push_back({"bf16_rms_norm_f32_weight", "rms_norm",
               [](std::mt19937 &r) { return std::vector{bf16Tensor({3, 5, 40}, r), randomF32({40}, r)}; },
               {{{3, 5, 40}, B}}, {{"eps", 1e-5}}, kF32});
  c.push_back({"bf16_attention_causal_gqa", "attention",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({2, 4, 7, 16}, r), bf16Tensor({2, 2, 7, 16}, r),
                                    bf16Tensor({2, 2, 7, 16}, r)};
               },
               {{{2, 4, 7, 16}, B}}, {{"causal", true}}, kSums});
  c.push_back({"bf16_attention_grad", "attention_grad",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({1, 2, 5, 40}, r), bf16Tensor({1, 1, 9, 40}, r),
                                    bf16Tensor({1, 1, 9, 24}, r), bf16Tensor({1, 2, 5, 24}, r)};
               },
               {{{1, 2, 5, 40}, B}, {{1, 1, 9, 40}, B}, {{1, 1, 9, 24}, B}}, {{"causal", true}},
               kSums});
  c.push_back({"bf16_rms_norm_grad", "rms_norm_grad",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({3, 5, 40}, r), bf16Tensor({40}, r),
                                    bf16Tensor({3, 5, 40}, r)};
               },
               {{{3, 5, 40}, B}, {{40}}}, {{"eps", 1e-5}}, kSums});
  c.push_back({"bf16_rope_grad", "rope_grad",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({2, 3, 5, 8}, r), randomF32({5, 8}, r), randomF32({5, 8}, r)};
               },
               {{{2, 3, 5, 8}, B}}, {}, kF32});
  c.push_back({"bf16_embedding", "embedding",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({11, 6}, r), randomIds({2, 5}, 11, r, DType::I32)};
               },
               {{{2, 5, 6}, B}}, {}, 0});
  c.push_back({"bf16_embedding_grad", "embedding_grad",
               [](std::mt19937 &r) {
                 return std::vector{indexTensor({2, 3}, {3, 1, 3, 0, 3, 1}, DType::I64),
                                    bf16Tensor({2, 3, 6}, r)};
               },
               {{{11, 6}, B}}, {{"vocab_size", int64_t(11)}}, 0});
  c.push_back({"bf16_cross_entropy", "cross_entropy",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({2, 5, 37}, r), randomIds({2, 5}, 37, r)};
               },
               {{{}}}, {}, kF32});
  c.push_back({"bf16_cross_entropy_grad", "cross_entropy_grad",
               [](std::mt19937 &r) {
                 return std::vector{bf16Tensor({2, 5, 37}, r), randomIds({2, 5}, 37, r),
                                    f32Tensor({}, {0.7})};
               },
               {{{2, 5, 37}, B}}, {}, kF32});
  c.push_back({"bf16_global_norm_mixed", "global_norm",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 5}, r), bf16Tensor({70000}, r), bf16Tensor({1}, r)};
               },
               {{{}}}, {}, kF32});
  c.push_back({"bf16_norm_partial", "norm_partial", bf({140000}), {{{3}, DType::F64}}, {}, 0});
  c.push_back({"bf16_adam_step_grad_and_copy", "adam_step",
               [](std::mt19937 &r) {
                 return std::vector{randomF32({3, 41}, r), bf16Tensor({3, 41}, r),
                                    randomF32({3, 41}, r, -0.1, 0.1), positive({3, 41}, r),
                                    f32Tensor({}, {3.5})};
               },
               {{{3, 41}}, {{3, 41}}, {{3, 41}}, {{3, 41}, B}}, clipped, 0});
  c.push_back({"adam_step_f32_copy", "adam_step", adamInputs(false),
               {{{3, 41}}, {{3, 41}}, {{3, 41}}, {{3, 41}}}, adam, 0});
  return c;
}

class CudaVsCpu : public ::testing::TestWithParam<Case> {};

TEST_P(CudaVsCpu, MatchesTheCpuBackend) {
  const Case &k = GetParam();
  std::mt19937 rng(1234);
  std::vector<HostTensor> inputs = k.inputs(rng);
  backend::Backend &cuda = *cuda::cudaBackendIfUsable();
  std::vector<HostTensor> want = runOp(cpu::cpuBackend(), k.op, inputs, k.outputs, k.attrs);
  std::vector<HostTensor> got = runOp(cuda, k.op, inputs, k.outputs, k.attrs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    bool rounded = got[i].dtype == DType::BF16; // each side rounds its own f32 result once
    if (k.tolerance == 0 || (got[i].dtype != DType::F32 && !rounded)) {
      EXPECT_TRUE(sameBits(got[i], want[i])) << k.name << ": output " << i << " differs";
    } else {
      double err = relativeError(got[i], want[i].toDouble());
      EXPECT_LE(err, k.tolerance + (rounded ? 1.0 / 128 : 0.0)) << k.name << ": output " << i;
    }
  }
  // Deterministic: a second run gives the same bits.
  std::vector<HostTensor> again = runOp(cuda, k.op, inputs, k.outputs, k.attrs);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(sameBits(got[i], again[i])) << k.name << ": output " << i << " not deterministic";
}

INSTANTIATE_TEST_SUITE_P(Ops, CudaVsCpu, ::testing::ValuesIn(cases()),
                         [](const auto &info) { return info.param.name; });

TEST(CudaVsCpuCoverage, EveryCudaKernelHasACase) {
  std::set<std::string> covered;
  for (const Case &c : cases())
    covered.insert(c.op);
  for (const std::string &op : cuda::cudaKernels().ops())
    EXPECT_TRUE(covered.count(op)) << "no CUDA-vs-CPU case for '" << op << "'";
}

} // namespace
} // namespace off::test
