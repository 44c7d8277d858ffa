// Plans PlanProgram refuses before anything runs, each with a PlanError
// naming the plan file and the instruction or tensor at fault.

#include "PlanBuilder.h"

#include "runtime/cpu/CpuBackend.h"
#include "runtime/train/PlanProgram.h"

#include <gtest/gtest.h>

namespace off::train {
namespace {

using test::PlanBuilder;

// The PlanError message for `plan`, or "" when it loads.
std::string loadError(const plan::Plan &plan) {
  try {
    PlanProgram program(cpu::cpuBackend(), plan, "bad.plan");
  } catch (const PlanError &error) {
    return error.what();
  }
  return "";
}

void expectContains(const std::string &message, std::initializer_list<const char *> parts) {
  for (const char *part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

PlanBuilder oneArena() {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  return b;
}

TEST(PlanProgramErrors, AnOpWithoutAKernel) {
  PlanBuilder b = oneArena();
  uint32_t x = b.tensor("x", {4}, plan::INPUT), y = b.tensor("y", {4}, plan::OUTPUT);
  uint32_t s = b.stream(plan::COMPUTE);
  b.kernel(s, "silu", {x}, {y});
  b.kernel(s, "frobnicate", {x}, {y});
  expectContains(loadError(b.plan()),
                 {"bad.plan: stream 0 instruction #1", "no kernel for 'frobnicate'"});
}

TEST(PlanProgramErrors, ShapesAKernelRefuses) {
  PlanBuilder b = oneArena();
  uint32_t x = b.tensor("x", {2, 3}, plan::INPUT), w = b.tensor("w", {2, 3}, plan::PARAM);
  uint32_t y = b.tensor("y", {2, 3}, plan::OUTPUT);
  b.kernel(b.stream(plan::COMPUTE), "matmul", {x, w}, {y});
  expectContains(loadError(b.plan()), {"bad.plan: stream 0 instruction #0", "matmul"});
}

TEST(PlanProgramErrors, AComputeKernelReadingHostMemory) {
  // A kernel on the compute stream reads the device tier: a weight left in
  // host memory needs a copy (h2d) first.
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.tier(plan::TIER_HOST);
  b.arena(0);
  b.arena(1);
  uint32_t x = b.tensor("x", {4}, plan::INPUT), y = b.tensor("y", {4}, plan::OUTPUT);
  uint32_t w = b.tensor("w", {4}, plan::PARAM, /*arena=*/1);
  b.kernel(b.stream(plan::COMPUTE), "mul", {x, w}, {y});
  expectContains(loadError(b.plan()), {"bad.plan", "host tier", "device tier"});
}

TEST(PlanProgramErrors, AnInvalidPlan) {
  PlanBuilder b = oneArena();
  b.tensor("x", {4}, plan::INPUT);
  b.stream(plan::COMPUTE);
  b.plan().mutable_tensors(0)->set_offset(4096); // past its arena
  expectContains(loadError(b.plan()), {"bad.plan: invalid plan", "'x'"});
}

TEST(PlanProgramErrors, TwoTensorsOfOneName) {
  PlanBuilder b = oneArena();
  b.tensor("x", {4}, plan::INPUT);
  b.tensor("x", {4}, plan::OUTPUT);
  b.stream(plan::COMPUTE);
  expectContains(loadError(b.plan()), {"bad.plan: ", "'x'"});
}

TEST(PlanProgramErrors, AWaitThatCanNeverBeSatisfied) {
  PlanBuilder b = oneArena();
  uint32_t s0 = b.stream(plan::COMPUTE), s1 = b.stream(plan::H2D);
  b.wait(s0, 0);
  b.record(s0, 1);
  b.wait(s1, 1);
  b.record(s1, 0);
  expectContains(loadError(b.plan()), {"bad.plan: ", "can never be satisfied"});
}

// adam_step's operands as the lowering makes them.
struct AdamTensors {
  PlanBuilder b = oneArena();
  uint32_t p = b.tensor("p", {4}, plan::PARAM);
  uint32_t g = b.tensor("g", {4}, plan::GRAD);
  uint32_t m = b.tensor("p.exp_avg", {4}, plan::OPTIMIZER_STATE);
  uint32_t v = b.tensor("p.exp_avg_sq", {4}, plan::OPTIMIZER_STATE);
  uint32_t s = b.stream(plan::COMPUTE);
  plan::Kernel &adam(std::initializer_list<uint32_t> in, std::initializer_list<uint32_t> out) {
    plan::Kernel &k = b.kernel(s, "adam_step", in, out);
    for (const char *name : {"lr", "beta1", "beta2", "eps", "weight_decay"})
      PlanBuilder::attr(k, name, 0.01);
    return k;
  }
};

TEST(PlanProgramErrors, AdamStepWithAResultOfAnotherShape) {
  AdamTensors t;
  uint32_t other = t.b.tensor("q", {3}, plan::ACTIVATION);
  t.adam({t.p, t.g, t.m, t.v}, {other, t.m, t.v});
  expectContains(loadError(t.b.plan()),
                 {"bad.plan: stream 0 instruction #0", "adam_step", "new_param", "'q'"});
}

TEST(PlanProgramErrors, AdamStepWithTooFewOperands) {
  AdamTensors t;
  t.adam({t.p, t.g, t.m}, {t.p, t.m, t.v});
  expectContains(loadError(t.b.plan()), {"bad.plan: stream 0 instruction #0", "adam_step"});
}

TEST(PlanProgramErrors, AdamStepClippingWithoutANorm) {
  AdamTensors t;
  PlanBuilder::attr(t.adam({t.p, t.g, t.m, t.v}, {t.p, t.m, t.v}), "max_grad_norm", 1.0);
  expectContains(loadError(t.b.plan()), {"bad.plan: ", "max_grad_norm", "norm"});
}

TEST(PlanProgramErrors, AdamStepWithANormThatIsNotOneFloat) {
  AdamTensors t;
  uint32_t norm = t.b.tensor("norm", {2}, plan::ACTIVATION);
  PlanBuilder::attr(t.adam({t.p, t.g, t.m, t.v, norm}, {t.p, t.m, t.v}), "max_grad_norm", 1.0);
  expectContains(loadError(t.b.plan()), {"bad.plan: stream 0 instruction #0", "'norm'"});
}

TEST(PlanProgramErrors, AdamStepHyperParametersTorchRejects) {
  AdamTensors t;
  PlanBuilder::attr(t.adam({t.p, t.g, t.m, t.v}, {t.p, t.m, t.v}), "beta1", 1.5);
  expectContains(loadError(t.b.plan()), {"bad.plan: stream 0 instruction #0", "beta"});
}

TEST(PlanProgramErrors, AdamStepWithoutAnAttribute) {
  AdamTensors t;
  t.adam({t.p, t.g, t.m, t.v}, {t.p, t.m, t.v}).mutable_attrs()->erase("eps");
  expectContains(loadError(t.b.plan()), {"bad.plan: stream 0 instruction #0", "eps"});
}

TEST(PlanProgramErrors, AdamStepOnF16Gradients) {
  AdamTensors t; // bf16 gradients are read (mixed precision), f16 ones are not
  uint32_t half = t.b.tensor("h", {4}, plan::GRAD, 0, plan::F16);
  t.adam({t.p, half, t.m, t.v}, {t.p, t.m, t.v});
  expectContains(loadError(t.b.plan()), {"bad.plan: stream 0 instruction #0", "'h'", "f32"});
}

TEST(PlanProgramErrors, AdamStepOfMismatchedShapes) {
  AdamTensors t;
  uint32_t small = t.b.tensor("small", {2}, plan::OPTIMIZER_STATE);
  t.adam({t.p, t.g, small, t.v}, {t.p, small, t.v});
  expectContains(loadError(t.b.plan()), {"bad.plan: stream 0 instruction #0", "'small'"});
}

} // namespace
} // namespace off::train
