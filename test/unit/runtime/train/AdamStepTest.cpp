// adam_step as PlanProgram runs it: in place on the parameter and its
// moments, torch.optim.AdamW's update (against a double transcription of
// torch's algorithm), the step count and lr the trainer sets, and
// clip_grad_norm_'s scaling: the clipped step equals runtime/optim's AdamW
// called directly on gradients multiplied by the coefficient torch 2.15
// computes (its bits written down here, taken from torch), the gradient is
// never written, and the one a hook sees before the kernel (--save-grads)
// is the one before clipping.

#include "PlanBuilder.h"

#include "runtime/optim/AdamW.h"
#include "runtime/cpu/CpuBackend.h"
#include "runtime/train/PlanProgram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace off::train {
namespace {

using test::PlanBuilder;

struct Hyper {
  double lr = 1e-2, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weightDecay = 0.1;
};

// torch.optim.AdamW (decoupled decay, bias-corrected), in double.
void referenceAdamW(std::vector<double> &p, std::vector<double> &m, std::vector<double> &v,
                    const std::vector<double> &g, const Hyper &h, int step) {
  const double bc1 = 1 - std::pow(h.beta1, step), bc2 = 1 - std::pow(h.beta2, step);
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] *= 1 - h.lr * h.weightDecay;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g[i] * g[i];
    p[i] -= h.lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + h.eps);
  }
}

enum class Norm { None, Input, GlobalNorm };

// p, g (an input the test writes), p.exp_avg, p.exp_avg_sq of n elements;
// the norm operand either absent, an input the test writes, or computed by
// a global_norm kernel over g.
plan::Plan adamPlan(int n, const Hyper &h, Norm norm, double maxGradNorm) {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  uint32_t p = b.tensor("p", {n}, plan::PARAM);
  uint32_t g = b.tensor("g", {n}, plan::INPUT);
  uint32_t m = b.tensor("p.exp_avg", {n}, plan::OPTIMIZER_STATE);
  uint32_t v = b.tensor("p.exp_avg_sq", {n}, plan::OPTIMIZER_STATE);
  uint32_t s = b.stream(plan::COMPUTE);
  plan::Kernel *k;
  if (norm == Norm::None) {
    k = &b.kernel(s, "adam_step", {p, g, m, v}, {p, m, v});
  } else {
    uint32_t total = b.tensor("norm", {}, norm == Norm::Input ? plan::INPUT : plan::OUTPUT);
    if (norm == Norm::GlobalNorm) // scratch: one block's sum (a double)
      b.workspace(b.kernel(s, "global_norm", {g}, {total}), 8);
    k = &b.kernel(s, "adam_step", {p, g, m, v, total}, {p, m, v});
    PlanBuilder::attr(*k, "max_grad_norm", maxGradNorm);
  }
  PlanBuilder::attr(*k, "lr", h.lr);
  PlanBuilder::attr(*k, "beta1", h.beta1);
  PlanBuilder::attr(*k, "beta2", h.beta2);
  PlanBuilder::attr(*k, "eps", h.eps);
  PlanBuilder::attr(*k, "weight_decay", h.weightDecay);
  return b.plan();
}

void write(PlanProgram &program, const char *name, const std::vector<float> &values) {
  std::memcpy(program.data(program.get(name)), values.data(), values.size() * sizeof(float));
}

std::vector<float> read(const PlanProgram &program, const char *name) {
  uint32_t id = program.get(name);
  const float *data = program.dataAs<float>(id);
  return {data, data + program.tensor(id).size_bytes() / sizeof(float)};
}

void expectNear(const std::vector<float> &actual, const std::vector<double> &expected,
                const char *what) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 1e-6 * std::max(1e-3, std::fabs(expected[i])))
        << what << "[" << i << "]";
}

std::vector<float> pattern(int n, float base, float scale, int period) {
  std::vector<float> out(n);
  for (int i = 0; i < n; ++i)
    out[i] = base + scale * float((i * 37) % period - period / 2);
  return out;
}

// Sizes around the vector width and the pool's split.
class AdamStepSizes : public ::testing::TestWithParam<int> {};

TEST_P(AdamStepSizes, UpdatesInPlaceAsTorchWithTheTrainersStepAndLr) {
  const int n = GetParam();
  const Hyper h;
  PlanProgram program(cpu::cpuBackend(), adamPlan(n, h, Norm::None, 0), "adam.plan");
  const std::vector<float> p = pattern(n, 0.5f, 0.001f, 97), g = pattern(n, 0.0f, 0.01f, 23);
  write(program, "p", p);
  write(program, "g", g);
  std::vector<double> rp(p.begin(), p.end()), rm(n, 0), rv(n, 0), rg(g.begin(), g.end());

  program.step().optimizerStep = 1;
  program.run();
  referenceAdamW(rp, rm, rv, rg, h, 1);
  // Step 2 with the trainer's lr (offrt train --lr) in place of the plan's.
  program.step().optimizerStep = 2;
  program.step().lr = 3e-2;
  program.run();
  Hyper second = h;
  second.lr = 3e-2;
  referenceAdamW(rp, rm, rv, rg, second, 2);

  expectNear(read(program, "p"), rp, "param");
  expectNear(read(program, "p.exp_avg"), rm, "exp_avg");
  expectNear(read(program, "p.exp_avg_sq"), rv, "exp_avg_sq");
  EXPECT_EQ(read(program, "g"), g) << "an unclipped step leaves the gradient alone";
}

INSTANTIATE_TEST_SUITE_P(Sizes, AdamStepSizes, ::testing::Values(1, 7, 8, 33, 4097, 10000));

// The step with clipping == AdamW (runtime/optim, called directly) on g * c,
// with c as torch computes clamp(max_norm / (norm + 1e-6), max=1) in fp32.
void expectClippedStep(float norm, double maxNorm, float torchCoefficient) {
  const int n = 33;
  const Hyper h;
  PlanProgram program(cpu::cpuBackend(), adamPlan(n, h, Norm::Input, maxNorm), "clip.plan");
  const std::vector<float> p = pattern(n, 0.5f, 0.01f, 97), g = pattern(n, 0.0f, 0.5f, 23);
  write(program, "p", p);
  write(program, "g", g);
  write(program, "norm", {norm});
  program.step().optimizerStep = 1;
  program.run();

  std::vector<float> rp = p, rm(n, 0.0f), rv(n, 0.0f), rg(n);
  for (int i = 0; i < n; ++i)
    rg[i] = g[i] * torchCoefficient;
  optim::AdamWTensor tensor;
  tensor.param = rp.data();
  tensor.expAvg = rm.data();
  tensor.expAvgSq = rv.data();
  tensor.grad = rg.data();
  tensor.count = size_t(n);
  optim::adamwStep(tensor, {h.lr, h.beta1, h.beta2, h.eps, h.weightDecay}, 1);
  EXPECT_EQ(read(program, "p"), rp) << "norm " << norm << ", max " << maxNorm;
  EXPECT_EQ(read(program, "p.exp_avg"), rm);
  EXPECT_EQ(read(program, "p.exp_avg_sq"), rv);
}

// Coefficients from torch 2.15: torch.clamp(max_norm / (torch.tensor(t) +
// 1e-6), max=1.0).item().hex(). For t = 0x1.30c30cp+0, max 0.3 torch gives
// 0x1.020c3cp-2 while the plain fp32 quotient 0.3f / (t + 1e-6f) is
// 0x1.020c3ep-2: torch evaluates number / tensor as reciprocal() * number.
TEST(AdamStep, ClipsWithTorchsCoefficientToTheBit) {
  expectClippedStep(0x1.30c30cp+0f, 0.3, 0x1.020c3cp-2f);
  expectClippedStep(5.0f, 0.3, 0x1.eb851ap-5f);
  expectClippedStep(5.0f, 1.0, 0x1.999994p-3f);
  expectClippedStep(0.25f, 1.0, 1.0f); // below max_norm: clamped to 1
}

// global_norm over g = {3, 4} gives 5; the gradient handed to --save-grads
// is the one before clipping.
TEST(AdamStep, HandsOverTheGradientBeforeClipping) {
  const Hyper h;
  PlanProgram program(cpu::cpuBackend(), adamPlan(2, h, Norm::GlobalNorm, 0.3), "clip.plan");
  write(program, "p", {1.0f, -2.0f});
  write(program, "g", {3.0f, 4.0f});
  std::vector<float> captured;
  std::string capturedName;
  program.setBeforeKernel([&](const plan::Kernel &kernel, uint32_t) {
    if (kernel.op() != "adam_step")
      return;
    capturedName = program.tensor(kernel.inputs(0)).name();
    captured = read(program, program.tensor(kernel.inputs(1)).name().c_str());
  });
  program.run();
  EXPECT_EQ(capturedName, "p");
  EXPECT_EQ(captured, (std::vector<float>{3.0f, 4.0f}));
  EXPECT_EQ(read(program, "norm"), std::vector<float>{5.0f});
  // The clip scales the gradient as the update reads it; the op's operand
  // is only read, as the IR says.
  EXPECT_EQ(read(program, "g"), (std::vector<float>{3.0f, 4.0f}));

  const double coefficient = 0.3 / (5.0 + 1e-6);
  std::vector<double> rp = {1.0, -2.0}, rm(2, 0), rv(2, 0);
  referenceAdamW(rp, rm, rv, {3.0 * coefficient, 4.0 * coefficient}, h, 1);
  expectNear(read(program, "p"), rp, "param");
  expectNear(read(program, "p.exp_avg"), rm, "exp_avg");
  expectNear(read(program, "p.exp_avg_sq"), rv, "exp_avg_sq");
}

} // namespace
} // namespace off::train
