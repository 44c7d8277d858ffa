//===- SerializePlan.h - a scheduled step to a plan.bin message -*- C++ -*-===//
//
// The last stage of off-compile (the off-serialize-plan pass, and offc):
// the step function after off-assign-buffers, with every op on a stream and
// every buffer at an arena offset, becomes the runtime's plan message.
// Nothing is decided here: tiers, streams, events, offsets come from the IR.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_PLAN_SERIALIZEPLAN_H
#define OFF_PLAN_SERIALIZEPLAN_H

#include "runtime/plan/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::off {

/// The runtime's plan.bin schema (runtime/plan/plan.proto).
namespace plan = ::off::plan;

struct SerializeOptions {
  std::string producer;
  /// Model and AdamW settings; see modelOf / hyperOf for defaults from the IR.
  plan::Model model;
  plan::Hyper hyper;
  /// Names of the arguments and returned values, in order, where the
  /// function has no `off.name` attribute for them ("input.N" /
  /// "output.N" otherwise; see docs/plan-format.md).
  std::vector<std::string> inputNames;
  std::vector<std::string> outputNames;
  uint64_t alignment = 64;
  /// Budget of each tier in bytes (0: none), recorded in the plan.
  uint64_t deviceBudget = 0, hostBudget = 0, nvmeBudget = 0;
};

/// What the IR says about the model: entry (the function's name), batch,
/// sequence and micro-batches from its first argument, vocabulary from the
/// logits or the embedding, name / config / initializer range from the
/// module's `off.source`.
plan::Model modelOf(func::FuncOp step);
/// AdamW's settings from the step's first adam_step (empty without one).
plan::Hyper hyperOf(func::FuncOp step);

/// Translates `step` (after off-assign-buffers) into a plan. Function
/// arguments become INPUT tensors (in order), returned values OUTPUT,
/// off.param PARAM, off.state OPTIMIZER_STATE, off.constant CONSTANT with
/// its bytes, the gradient off.adam_step reads GRAD, everything else
/// ACTIVATION; adam_step's results and transfers `into` a tensor are that
/// tensor; a reshape is a view at its source's offset. The result passes
/// plan::validatePlan.
FailureOr<plan::Plan> serializePlan(func::FuncOp step, const SerializeOptions &options);

} // namespace mlir::off

#endif // OFF_PLAN_SERIALIZEPLAN_H
