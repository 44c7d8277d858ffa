// Compiles small step functions through the memory-level passes
// (off-place, off-insert-transfers, off-schedule, off-assign-buffers) and
// serializePlan, and checks the plan against properties computed from the
// plan itself: validity and order (runtime/plan's validator and verifier),
// no two tensors alive at the same time share bytes, in-place AdamW, AdamW
// on the host-optimizer stream, budgets.

#include "compiler/Plan/SerializePlan.h"
#include "dialects/off/IR/OffDialect.h"
#include "dialects/off/Transforms/Passes.h"
#include "runtime/cpu/CpuWorkspace.h"
#include "runtime/plan/PlanKernel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

using namespace mlir;
namespace plan = ::off::plan;

namespace {

constexpr const char *kStep = R"mlir(
func.func @train_step(%x: tensor<4x8xf32>, %ids: tensor<4xi32>) -> tensor<f32> {
  %w = off.param "w" {trainable} : tensor<16x8xf32>
  %b = off.param "frozen" : tensor<16xf32>
  %c = off.constant dense<2.0> : tensor<16xf32>
  %y = off.matmul %x, %w {transpose_rhs = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %z = off.add %y, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %s = off.mul %z, %c : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %loss = off.cross_entropy %s, %ids : (tensor<4x16xf32>, tensor<4xi32>) -> tensor<f32>
  %g = off.matmul %s, %x {transpose_lhs = true} : (tensor<4x16xf32>, tensor<4x8xf32>) -> tensor<16x8xf32>
  %n = off.global_norm %g : tensor<16x8xf32> -> tensor<f32>
  %p2, %m2, %v2 = off.adam_step %w, %g, %w, %w, %n {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.01 : f64,
      max_grad_norm = 1.0 : f64} : tensor<16x8xf32>, tensor<f32>
  return %loss : tensor<f32>
}
)mlir";

/// The memory-level passes on `module`'s function, then serializePlan.
FailureOr<plan::Plan> lowerToPlan(ModuleOp module, const mlir::off::SerializeOptions &options,
                                  std::vector<std::string> place = {},
                                  uint64_t deviceBudget = 0) {
  PassManager passes(module.getContext());
  OpPassManager &step = passes.nest<func::FuncOp>();
  mlir::off::PlacePassOptions placeOptions;
  placeOptions.rules.assign(place.begin(), place.end());
  step.addPass(mlir::off::createPlacePass(placeOptions));
  step.addPass(mlir::off::createInsertTransfersPass());
  step.addPass(mlir::off::createSchedulePass());
  mlir::off::AssignBuffersPassOptions buffers;
  buffers.deviceBudget = deviceBudget;
  step.addPass(mlir::off::createAssignBuffersPass(buffers));
  if (failed(passes.run(module)))
    return failure();
  return mlir::off::serializePlan(*module.getOps<func::FuncOp>().begin(), options);
}

class LowerToPlan : public ::testing::Test {
protected:
  LowerToPlan() {
    context.loadDialect<mlir::off::OffDialect, func::FuncDialect>();
    module = parseSourceString<ModuleOp>(kStep, &context);
  }
  FailureOr<plan::Plan> lower(const mlir::off::SerializeOptions &options = {}) {
    return lowerToPlan(*module, options);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

TEST_F(LowerToPlan, NamesInputsAndOutputsAsAsked) {
  ASSERT_TRUE(module);
  mlir::off::SerializeOptions options;
  options.inputNames = {"input_ids"}; // the second argument keeps its default
  options.outputNames = {"loss"};
  FailureOr<plan::Plan> plan = lower(options);
  ASSERT_TRUE(succeeded(plan));
  std::map<std::string, plan::Role> roles;
  for (const auto &t : plan->tensors())
    roles[t.name()] = t.role();
  EXPECT_EQ(roles["input_ids"], plan::INPUT);
  EXPECT_EQ(roles["input.1"], plan::INPUT);
  EXPECT_EQ(roles["loss"], plan::OUTPUT);
}

TEST_F(LowerToPlan, ProducesAValidPlanWithRoles) {
  ASSERT_TRUE(module);
  FailureOr<plan::Plan> plan = lower();
  ASSERT_TRUE(succeeded(plan));
  EXPECT_TRUE(plan::validatePlan(*plan).empty());
  EXPECT_TRUE(plan::verifyPlanOrder(*plan).empty());
  std::map<std::string, plan::Role> roles;
  for (const auto &t : plan->tensors())
    roles[t.name()] = t.role();
  EXPECT_EQ(roles["input.0"], plan::INPUT);
  EXPECT_EQ(roles["input.1"], plan::INPUT);
  EXPECT_EQ(roles["w"], plan::PARAM);
  EXPECT_EQ(roles["frozen"], plan::PARAM);
  ASSERT_EQ(plan->streams_size(), 1);
  std::vector<std::string> ops;
  for (const auto &inst : plan->streams(0).instructions())
    ops.push_back(inst.kernel().op());
  EXPECT_EQ(ops, (std::vector<std::string>{"matmul", "add", "mul", "cross_entropy",
                                           "matmul", "global_norm", "adam_step"}));
  const auto &matmul = plan->streams(0).instructions(0).kernel();
  EXPECT_TRUE(matmul.attrs().at("transpose_rhs").b());
  EXPECT_FALSE(matmul.attrs().at("transpose_lhs").b());
}

TEST_F(LowerToPlan, ConstantsCarryTheirBytes) {
  FailureOr<plan::Plan> plan = lower();
  ASSERT_TRUE(succeeded(plan));
  for (const auto &t : plan->tensors()) {
    if (t.role() != plan::CONSTANT)
      continue;
    ASSERT_EQ(t.initial_data().size(), 64u);
    float value;
    std::memcpy(&value, t.initial_data().data() + 60, 4);
    EXPECT_EQ(value, 2.0f); // the splat expanded to every element
  }
}

TEST_F(LowerToPlan, AdamUpdatesInPlaceAndMarksTheGradient) {
  FailureOr<plan::Plan> plan = lower();
  ASSERT_TRUE(succeeded(plan));
  const auto &adam = plan->streams(0).instructions(6).kernel();
  ASSERT_EQ(adam.op(), "adam_step");
  EXPECT_EQ(adam.outputs(0), adam.inputs(0)); // param
  EXPECT_EQ(adam.outputs(1), adam.inputs(2)); // exp_avg
  EXPECT_EQ(adam.outputs(2), adam.inputs(3)); // exp_avg_sq
  EXPECT_EQ(plan->tensors(adam.inputs(1)).role(), plan::GRAD);
  EXPECT_DOUBLE_EQ(adam.attrs().at("lr").f(), 1.0e-3);
}

constexpr const char *kMixedStep = R"mlir(
func.func @train_step(%x: tensor<4x8xbf16>, %ids: tensor<4xi32>) -> tensor<f32> {
  %w = off.param "w" {trainable} : tensor<16x8xf32>
  %wc = off.param "w.bf16" {copy_of = "w"} : tensor<16x8xbf16>
  %m = off.state "w.exp_avg" : tensor<16x8xf32>
  %v = off.state "w.exp_avg_sq" : tensor<16x8xf32>
  %y = off.matmul %x, %wc {transpose_rhs = true} : (tensor<4x8xbf16>, tensor<16x8xbf16>) -> tensor<4x16xbf16>
  %yf = off.cast %y : tensor<4x16xbf16> to tensor<4x16xf32>
  %loss = off.cross_entropy %yf, %ids : (tensor<4x16xf32>, tensor<4xi32>) -> tensor<f32>
  %g = off.matmul %y, %x {transpose_lhs = true} : (tensor<4x16xbf16>, tensor<4x8xbf16>) -> tensor<16x8xbf16>
  %n = off.global_norm %g : tensor<16x8xbf16> -> tensor<f32>
  %p2, %m2, %v2, %c2 = off.adam_step %w, %g, %m, %v, %n copy %wc {lr = 1.0e-03 : f64,
      beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.01 : f64,
      max_grad_norm = 1.0 : f64} : tensor<16x8xf32>, tensor<f32>, grad tensor<16x8xbf16>,
      copy tensor<16x8xbf16>
  return %loss : tensor<f32>
}
)mlir";

// A mixed-precision AdamW: its bf16 gradient is read, the bf16 compute copy
// is written (an output, not an input), in place on the device or, with
// AdamW on the host, written back to the copy's home; the copy names its
// master and has no checkpoint name.
TEST_F(LowerToPlan, MixedPrecisionAdamWritesTheComputeCopy) {
  for (std::vector<std::string> place : {std::vector<std::string>{},
                                         std::vector<std::string>{"optimizer=host"}}) {
    OwningOpRef<ModuleOp> mixed = parseSourceString<ModuleOp>(kMixedStep, &context);
    ASSERT_TRUE(mixed);
    FailureOr<plan::Plan> plan = lowerToPlan(*mixed, {}, place);
    ASSERT_TRUE(succeeded(plan));
    EXPECT_TRUE(plan::validatePlan(*plan).empty());
    EXPECT_TRUE(plan::verifyPlanOrder(*plan).empty());
    std::map<std::string, int> byName;
    for (int id = 0; id < plan->tensors_size(); ++id)
      byName[plan->tensors(id).name()] = id;
    const plan::Tensor &copy = plan->tensors(byName.at("w.bf16"));
    EXPECT_EQ(copy.copy_of(), "w");
    EXPECT_EQ(copy.hf_name(), "");
    EXPECT_EQ(copy.dtype(), plan::BF16);
    EXPECT_FALSE(copy.trainable());
    const plan::Kernel *adam = nullptr;
    for (const auto &stream : plan->streams())
      for (const auto &inst : stream.instructions())
        if (inst.has_kernel() && inst.kernel().op() == "adam_step")
          adam = &inst.kernel();
    ASSERT_NE(adam, nullptr);
    ASSERT_EQ(adam->inputs_size(), 5) << "param, grad, exp_avg, exp_avg_sq, norm";
    ASSERT_EQ(adam->outputs_size(), 4);
    EXPECT_EQ(plan->tensors(adam->inputs(1)).dtype(), plan::BF16);
    uint32_t written = adam->outputs(3);
    if (place.empty()) {
      EXPECT_EQ(written, uint32_t(byName.at("w.bf16")));
    } else { // a host copy of the copy, then copied back to its home
      EXPECT_NE(written, uint32_t(byName.at("w.bf16")));
      bool copiedBack = false;
      for (const auto &stream : plan->streams())
        for (const auto &inst : stream.instructions())
          copiedBack |= inst.has_copy() && inst.copy().src() == written &&
                        inst.copy().dst() == uint32_t(byName.at("w.bf16"));
      EXPECT_TRUE(copiedBack);
    }
  }
}

TEST_F(LowerToPlan, TensorsAliveTogetherNeverShareBytes) {
  FailureOr<plan::Plan> plan = lower();
  ASSERT_TRUE(succeeded(plan));
  // Lifetimes recomputed from the instruction stream alone: activations and
  // gradients live from their first write to their last read, a kernel's
  // workspace while that kernel runs, every other role for the whole step.
  int n = plan->tensors_size();
  int last = plan->streams(0).instructions_size();
  std::vector<int> first(n, 0), lastUse(n, last);
  for (int id = 0; id < n; ++id) {
    plan::Role role = plan->tensors(id).role();
    if (role != plan::ACTIVATION && role != plan::GRAD && role != plan::WORKSPACE)
      continue;
    first[id] = -1;
    lastUse[id] = -1;
  }
  for (int i = 0; i < last; ++i) {
    const auto &k = plan->streams(0).instructions(i).kernel();
    for (uint32_t id : k.outputs())
      if (first[id] == -1)
        first[id] = i;
    for (uint32_t id : k.inputs())
      lastUse[id] = std::max(lastUse[id], i);
    if (k.has_workspace())
      first[k.workspace()] = lastUse[k.workspace()] = i;
  }
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b) {
      int lastA = std::max(first[a], lastUse[a]), lastB = std::max(first[b], lastUse[b]);
      if (!(first[a] <= lastB && first[b] <= lastA))
        continue;
      const auto &ta = plan->tensors(a), &tb = plan->tensors(b);
      bool disjoint = ta.offset() + ta.size_bytes() <= tb.offset() ||
                      tb.offset() + tb.size_bytes() <= ta.offset();
      EXPECT_TRUE(disjoint) << ta.name() << " and " << tb.name() << " share bytes";
    }
}

// Each kernel's WORKSPACE tensor is exactly what the runtime's rule asks
// for (none where it asks for none), and some kernel here asks.
TEST_F(LowerToPlan, EachKernelGetsTheWorkspaceTheRuntimeRuleAsksFor) {
  FailureOr<plan::Plan> plan = lower();
  ASSERT_TRUE(succeeded(plan));
  int withWorkspace = 0;
  for (const plan::Stream &stream : plan->streams())
    for (const plan::Instruction &instruction : stream.instructions()) {
      if (!instruction.has_kernel())
        continue;
      const plan::Kernel &k = instruction.kernel();
      std::vector<::off::backend::TensorArg> inputs = plan::kernelInputs(*plan, k),
                                             outputs = plan::kernelOutputs(*plan, k);
      ::off::backend::KernelAttrs attrs = plan::kernelAttrs(k);
      uint64_t wants = ::off::cpu::cpuWorkspaceBytes({k.op(), inputs, outputs, attrs});
      uint64_t has = k.has_workspace() ? plan->tensors(int(k.workspace())).size_bytes() : 0;
      EXPECT_EQ(has, wants) << k.op();
      if (k.has_workspace())
        EXPECT_EQ(plan->tensors(int(k.workspace())).role(), plan::WORKSPACE) << k.op();
      withWorkspace += has > 0;
    }
  EXPECT_GT(withWorkspace, 0);
}

// A reshape is a view: no kernel, the bytes of its source, and the source
// stays alive for as long as the view is read.
constexpr const char *kViewStep = R"mlir(
func.func @forward(%x: tensor<4x8xf32>) -> tensor<64xf32> {
  %w = off.param "w" : tensor<16x8xf32>
  %y = off.matmul %x, %w {transpose_rhs = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %v = off.reshape %y : tensor<4x16xf32> to tensor<64xf32>
  %t = off.neg %x : tensor<4x8xf32>
  %u = off.reshape %t : tensor<4x8xf32> to tensor<32xf32>
  %c = off.concat %u, %u {axis = 0 : i64} : (tensor<32xf32>, tensor<32xf32>) -> tensor<64xf32>
  %z = off.mul %v, %c : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
  return %z : tensor<64xf32>
}
)mlir";

TEST_F(LowerToPlan, ReshapeIsAViewThatKeepsItsSourceAlive) {
  OwningOpRef<ModuleOp> views = parseSourceString<ModuleOp>(kViewStep, &context);
  ASSERT_TRUE(views);
  FailureOr<plan::Plan> plan = lowerToPlan(*views, {});
  ASSERT_TRUE(succeeded(plan));
  std::vector<std::string> ops;
  for (const auto &inst : plan->streams(0).instructions())
    ops.push_back(inst.kernel().op());
  EXPECT_EQ(ops, (std::vector<std::string>{"matmul", "neg", "concat", "mul"}));
  const auto &matmul = plan->streams(0).instructions(0).kernel();
  const auto &neg = plan->streams(0).instructions(1).kernel();
  const auto &concat = plan->streams(0).instructions(2).kernel();
  const auto &mul = plan->streams(0).instructions(3).kernel();
  const plan::Tensor &y = plan->tensors(matmul.outputs(0));
  const plan::Tensor &v = plan->tensors(mul.inputs(0));
  const plan::Tensor &t = plan->tensors(neg.outputs(0));
  const plan::Tensor &u = plan->tensors(concat.inputs(0));
  const plan::Tensor &c = plan->tensors(concat.outputs(0));
  EXPECT_EQ(v.offset(), y.offset());
  EXPECT_EQ(v.size_bytes(), y.size_bytes());
  EXPECT_EQ(u.offset(), t.offset());
  // y (read through v by the last kernel) is alive while t and c are written.
  auto disjoint = [](const plan::Tensor &a, const plan::Tensor &b) {
    return a.offset() + a.size_bytes() <= b.offset() ||
           b.offset() + b.size_bytes() <= a.offset();
  };
  EXPECT_TRUE(disjoint(y, t));
  EXPECT_TRUE(disjoint(y, c));
  EXPECT_TRUE(disjoint(t, c)); // t is read (through u) by the concat writing c
}

// Two layers; the second's gradient is final before the first's backward.
constexpr const char *kTwoUpdates = R"mlir(
func.func @train_step(%x: tensor<4x8xf32>) -> tensor<f32> {
  %w1 = off.param "w1" {trainable} : tensor<8x8xf32>
  %w2 = off.param "w2" {trainable} : tensor<8x8xf32>
  %m1 = off.state "w1.exp_avg" : tensor<8x8xf32>
  %v1 = off.state "w1.exp_avg_sq" : tensor<8x8xf32>
  %m2 = off.state "w2.exp_avg" : tensor<8x8xf32>
  %v2 = off.state "w2.exp_avg_sq" : tensor<8x8xf32>
  %h = off.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %y = off.matmul %h, %w2 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %g2 = off.matmul %h, %y {transpose_lhs = true} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  %dh = off.matmul %y, %w2 {transpose_rhs = true} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %g1 = off.matmul %x, %dh {transpose_lhs = true} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  %n = off.global_norm %g1, %g2 : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<f32>
  %a1, %a2, %a3 = off.adam_step %w1, %g1, %m1, %v1, %n {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.01 : f64} : tensor<8x8xf32>, tensor<f32>
  %b1, %b2, %b3 = off.adam_step %w2, %g2, %m2, %v2, %n {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
      beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.01 : f64} : tensor<8x8xf32>, tensor<f32>
  return %n : tensor<f32>
}
)mlir";

TEST_F(LowerToPlan, HostOptimizerUpdatesEachParamOnceItIsFree) {
  OwningOpRef<ModuleOp> two = parseSourceString<ModuleOp>(kTwoUpdates, &context);
  ASSERT_TRUE(two);
  FailureOr<plan::Plan> plan = lowerToPlan(*two, {}, {"optimizer=host"});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_TRUE(plan::validatePlan(*plan).empty());
  std::vector<std::string> order = plan::verifyPlanOrder(*plan);
  EXPECT_TRUE(order.empty()) << order.front();
  auto tierOf = [&](uint32_t id) {
    return plan->tiers(int(plan->arenas(int(plan->tensors(int(id)).arena())).tier())).kind();
  };
  std::map<plan::StreamKind, std::vector<const plan::Instruction *>> streams;
  for (const auto &stream : plan->streams())
    for (const auto &inst : stream.instructions())
      streams[stream.kind()].push_back(&inst);
  // Both updates run on the host-optimizer stream on host copies, w2's first
  // (its gradient is final before w1's); without clipping neither reads the
  // norm.
  std::vector<std::string> updated;
  for (const plan::Instruction *inst : streams[plan::HOST_OPTIMIZER]) {
    if (!inst->has_kernel())
      continue;
    const auto &k = inst->kernel();
    ASSERT_EQ(k.op(), "adam_step");
    EXPECT_EQ(k.inputs_size(), 4);
    for (uint32_t id : k.inputs())
      EXPECT_EQ(tierOf(id), plan::TIER_HOST) << plan->tensors(int(id)).name();
    EXPECT_EQ(plan->tensors(int(k.inputs(1))).role(), plan::GRAD);
    updated.push_back(plan->tensors(int(k.inputs(0))).name());
  }
  EXPECT_EQ(updated, (std::vector<std::string>{"w2@host", "w1@host"}));
  // The updated params are copied back into the device params themselves.
  std::vector<std::string> writtenBack;
  for (const plan::Instruction *inst : streams[plan::H2D])
    if (inst->has_copy())
      writtenBack.push_back(plan->tensors(int(inst->copy().dst())).name());
  EXPECT_EQ(writtenBack, (std::vector<std::string>{"w2", "w1"}));
  for (const auto &t : plan->tensors())
    if (t.role() == plan::PARAM)
      EXPECT_EQ(plan->tiers(int(plan->arenas(int(t.arena())).tier())).kind(), plan::TIER_DEVICE);
    else if (t.role() == plan::OPTIMIZER_STATE)
      EXPECT_EQ(plan->tiers(int(plan->arenas(int(t.arena())).tier())).kind(), plan::TIER_HOST);
  // No adam_step is left on the compute stream.
  for (const plan::Instruction *inst : streams[plan::COMPUTE])
    if (inst->has_kernel())
      EXPECT_NE(inst->kernel().op(), "adam_step");
}

TEST_F(LowerToPlan, OverBudgetIsAClearError) {
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(failed(lowerToPlan(*module, {}, {}, /*deviceBudget=*/256)));
  EXPECT_NE(message.find("the device arena needs"), std::string::npos) << message;
  EXPECT_NE(message.find("over its budget of 256 by"), std::string::npos) << message;
}

// How each parameter starts comes from what it feeds, as Hugging Face's
// _init_weights decides by module: an embedding table and a Linear weight
// (here through a transpose) normal, an rms_norm weight and a scale only
// ever multiplied in (an unfused norm) ones, a value only ever added (a
// bias) zeros; a table also used as a Linear weight (tied) stays normal.
constexpr const char *kInitKinds = R"mlir(
func.func @forward(%ids: tensor<4xi32>) -> tensor<4x16xf32> {
  %table = off.param "embed" : tensor<32x8xf32>
  %norm = off.param "norm" : tensor<8xf32>
  %scale = off.param "scale" : tensor<8xf32>
  %w = off.param "w" : tensor<16x8xf32>
  %bias = off.param "bias" : tensor<16xf32>
  %tied = off.param "tied" : tensor<16x8xf32>
  %e = off.embedding %table, %ids : (tensor<32x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %n = off.rms_norm %e, %norm {eps = 1.0e-05 : f64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = off.mul %n, %scale : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %wt = off.transpose %w {perm = array<i64: 1, 0>} : (tensor<16x8xf32>) -> tensor<8x16xf32>
  %y = off.matmul %s, %wt : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %t = off.embedding %tied, %ids : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %u = off.matmul %t, %tied {transpose_rhs = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %z = off.add %y, %bias : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %out = off.add %z, %u : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %out : tensor<4x16xf32>
}
)mlir";

TEST_F(LowerToPlan, ParamsStartAsWhatTheyFeed) {
  OwningOpRef<ModuleOp> forward = parseSourceString<ModuleOp>(kInitKinds, &context);
  ASSERT_TRUE(forward);
  FailureOr<plan::Plan> plan = lowerToPlan(*forward, {});
  ASSERT_TRUE(succeeded(plan));
  std::map<std::string, plan::InitKind> kinds;
  for (const auto &t : plan->tensors())
    if (t.role() == plan::PARAM)
      kinds[t.name()] = t.init();
    else
      EXPECT_EQ(t.init(), plan::INIT_UNSPECIFIED) << t.name();
  EXPECT_EQ(kinds, (std::map<std::string, plan::InitKind>{{"embed", plan::INIT_NORMAL},
                                                           {"norm", plan::INIT_ONES},
                                                           {"scale", plan::INIT_ONES},
                                                           {"w", plan::INIT_NORMAL},
                                                           {"bias", plan::INIT_ZEROS},
                                                           {"tied", plan::INIT_NORMAL}}));
}

} // namespace
