// The gradient scale (the clip coefficient applied as the gradient is read)
// and adam_step as a kernel of runtime/optim's host optimizer table: the
// same bits as scaling the gradient first (what torch's clip_grad_norm_
// does in place) then AdamW, on every ISA; the gradient never written; the
// step context; an update out of place.
#include "AdamWTestData.h"

#include "runtime/optim/HostOptimizerKernels.h"

#include <gtest/gtest.h>

namespace off::optim {
namespace {

using testing::AdamWState;
using testing::firstDifference;

constexpr AdamIsa kIsas[] = {AdamIsa::Scalar, AdamIsa::Avx2, AdamIsa::Avx512};

TEST(AdamWGradScale, IsTheProductTakenFirstOnEveryIsa) {
  for (AdamIsa isa : kIsas) {
    if (!adamIsaSupported(isa))
      continue;
    for (size_t n : {size_t(1), size_t(15), size_t(16), size_t(17), size_t(1003)}) {
      for (float scale : {0.37f, 0x1.020c3cp-2f, 1.0f}) {
        AdamWState scaled(n, uint32_t(n) + 3), premultiplied = scaled;
        for (float &g : premultiplied.gradF32)
          g *= scale;
        const std::vector<float> gradBefore = scaled.gradF32;
        AdamWTensor t = scaled.tensor(GradDtype::F32, OutDtype::None);
        t.gradScale = scale;
        AdamWStepScalars s = adamwStepScalars({}, 3);
        adamwStepRange(t, s, 0, n, isa);
        adamwStepRange(premultiplied.tensor(GradDtype::F32, OutDtype::None), s, 0, n, isa);
        EXPECT_EQ(firstDifference(scaled.param, premultiplied.param), -1)
            << adamIsaName(isa) << " n=" << n << " scale=" << scale;
        EXPECT_EQ(firstDifference(scaled.expAvg, premultiplied.expAvg), -1);
        EXPECT_EQ(firstDifference(scaled.expAvgSq, premultiplied.expAvgSq), -1);
        EXPECT_EQ(scaled.gradF32, gradBefore) << "the gradient is only read";
      }
    }
  }
}

TEST(ClipCoefficient, IsTorchsFp32Expression) {
  // torch 2.15: torch.clamp(max_norm / (torch.tensor(t) + 1e-6), max=1.0)
  // .item().hex() (also used by runtime/train's AdamStepTest).
  EXPECT_EQ(clipCoefficient(0x1.30c30cp+0f, 0.3), 0x1.020c3cp-2f);
  EXPECT_EQ(clipCoefficient(5.0f, 0.3), 0x1.eb851ap-5f);
  EXPECT_EQ(clipCoefficient(5.0f, 1.0), 0x1.999994p-3f);
  EXPECT_EQ(clipCoefficient(0.25f, 1.0), 1.0f);
}

backend::KernelAttrs hyperAttrs(const AdamWHyper &h) {
  return {{"lr", h.lr}, {"beta1", h.beta1}, {"beta2", h.beta2}, {"eps", h.eps},
          {"weight_decay", h.weightDecay}};
}

struct Arrays {
  std::vector<float> p, g, m, v;
  explicit Arrays(size_t n, uint32_t seed) {
    AdamWState s(n, seed);
    p = s.param, g = s.gradF32, m = s.expAvg, v = s.expAvgSq;
  }
};

TEST(AdamStepKernel, ClipsAsTorchAndReadsTheStepContext) {
  const size_t n = 37;
  const int64_t shape = int64_t(n);
  const AdamWHyper h{2e-3, 0.9, 0.95, 1e-8, 0.1};
  Arrays kernel(n, 11), reference = kernel;
  float norm = 7.5f;
  backend::TensorArg p{kernel.p.data(), {shape}}, g{kernel.g.data(), {shape}},
      m{kernel.m.data(), {shape}}, v{kernel.v.data(), {shape}}, total{&norm, {}};
  backend::TensorArg inputs[] = {p, g, m, v, total}, outputs[] = {p, m, v};
  backend::KernelAttrs attrs = hyperAttrs(h);
  attrs.set("max_grad_norm", 1.0);
  const backend::KernelTable &table = hostOptimizerKernels();
  backend::StepContext step;
  step.optimizerStep = 4;
  step.lr = 5e-3;
  backend::BoundKernel bound(table, "adam_step", {inputs, inputs + 5}, {outputs, outputs + 3},
                             attrs);
  EXPECT_EQ(bound.workspaceBytes(), 0u);
  void *in[] = {p.data, g.data, m.data, v.data, &norm}, *out[] = {p.data, m.data, v.data};
  bound.run(in, out, {}, &step);

  // torch: clip_grad_norm_ multiplies the gradient in place, then AdamW.
  const float c = clipCoefficient(norm, 1.0);
  ASSERT_LT(c, 1.0f);
  for (float &x : reference.g)
    x *= c;
  AdamWHyper stepHyper = h;
  stepHyper.lr = 5e-3;
  adamwStep({reference.p.data(), reference.m.data(), reference.v.data(), reference.g.data(),
             GradDtype::F32, nullptr, OutDtype::None, n},
            stepHyper, 4);
  EXPECT_EQ(kernel.p, reference.p);
  EXPECT_EQ(kernel.m, reference.m);
  EXPECT_EQ(kernel.v, reference.v);
  EXPECT_EQ(kernel.g, Arrays(n, 11).g) << "the gradient is not written";
}

TEST(AdamStepKernel, OutOfPlaceLeavesItsInputsAndWritesTheUpdate) {
  const size_t n = 20;
  const int64_t shape = int64_t(n);
  Arrays inPlace(n, 5), source = inPlace;
  const Arrays original = source;
  std::vector<float> p2(n), m2(n), v2(n);
  const backend::KernelTable &table = hostOptimizerKernels();
  auto call = [&](Arrays &a, float *po, float *mo, float *vo) {
    backend::TensorArg in[] = {{a.p.data(), {shape}}, {a.g.data(), {shape}},
                               {a.m.data(), {shape}}, {a.v.data(), {shape}}};
    backend::TensorArg out[] = {{po, {shape}}, {mo, {shape}}, {vo, {shape}}};
    table.call("adam_step", in, out, hyperAttrs({}));
  };
  call(inPlace, inPlace.p.data(), inPlace.m.data(), inPlace.v.data());
  call(source, p2.data(), m2.data(), v2.data());
  EXPECT_EQ(p2, inPlace.p);
  EXPECT_EQ(m2, inPlace.m);
  EXPECT_EQ(v2, inPlace.v);
  EXPECT_EQ(source.p, original.p);
  EXPECT_EQ(source.m, original.m);
  EXPECT_EQ(source.v, original.v);
  EXPECT_NE(p2, original.p);
}

TEST(AdamStepKernel, RefusesWhatTorchOrTheOpRefuses) {
  const backend::KernelTable &table = hostOptimizerKernels();
  auto error = [&](std::vector<backend::TensorArg> in, std::vector<backend::TensorArg> out,
                   backend::KernelAttrs attrs) -> std::string {
    try {
      table.validate("adam_step", in, out, attrs);
    } catch (const std::invalid_argument &e) {
      return e.what();
    }
    return "(accepted)";
  };
  backend::TensorArg x{nullptr, {4}}, half{nullptr, {4}, DType::BF16}, two{nullptr, {2}},
      halfTwo{nullptr, {2}, DType::BF16}, f16{nullptr, {4}, DType::F16}, scalar{nullptr, {}};
  backend::KernelAttrs good = hyperAttrs({}), clip = good, badBeta = good;
  clip.set("max_grad_norm", 1.0);
  badBeta.set("beta1", 1.5);
  EXPECT_EQ(error({x, x, x, x}, {x, x, x}, good), "(accepted)");
  EXPECT_EQ(error({x, x, x, x, scalar}, {x, x, x}, clip), "(accepted)");
  EXPECT_EQ(error({x, x, x}, {x, x, x}, good),
            "adam_step: needs inputs param, grad, exp_avg, exp_avg_sq[, norm], got 3");
  // A mixed-precision plan's bf16 gradients, and the bf16 (or f32) compute
  // copy written as a fourth result.
  EXPECT_EQ(error({x, half, x, x}, {x, x, x}, good), "(accepted)");
  EXPECT_EQ(error({x, half, x, x}, {x, x, x, half}, good), "(accepted)");
  EXPECT_EQ(error({x, x, x, x}, {x, x, x, x}, good), "(accepted)");
  EXPECT_EQ(error({x, f16, x, x}, {x, x, x}, good),
            "adam_step: grad must be f32 with the param's shape f32[4], got f16[4]");
  EXPECT_EQ(error({x, halfTwo, x, x}, {x, x, x}, good),
            "adam_step: grad must have the param's shape f32[4], got bf16[2]");
  EXPECT_EQ(error({x, x, x, x}, {x, x, x, two}, good),
            "adam_step: the compute copy must be bf16 or f32 with the param's shape f32[4], "
            "got f32[2]");
  EXPECT_EQ(error({x, x, x, x}, {x, x, x, f16}, good),
            "adam_step: the compute copy must be bf16 or f32 with the param's shape f32[4], "
            "got f16[4]");
  EXPECT_EQ(error({x, x, x, x}, {x, two, x}, good),
            "adam_step: new_exp_avg must be f32 with the param's shape f32[4], got f32[2]");
  EXPECT_EQ(error({x, x, x, x}, {x, x, x}, clip), "adam_step: max_grad_norm needs the norm operand");
  EXPECT_EQ(error({x, x, x, x, two}, {x, x, x}, clip),
            "adam_step: the norm operand must be one f32 value, got f32[2]");
  EXPECT_NE(error({x, x, x, x}, {x, x, x}, badBeta).find("beta"), std::string::npos);
  backend::KernelAttrs noEps = good;
  noEps = {{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"weight_decay", 0.0}};
  EXPECT_EQ(error({x, x, x, x}, {x, x, x}, noEps), "adam_step: attribute 'eps' is missing");
}

} // namespace
} // namespace off::optim
