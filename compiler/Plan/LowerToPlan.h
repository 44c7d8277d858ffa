//===- LowerToPlan.h - one step function to a plan.bin message --*- C++ -*-===//
//
// The unconstrained lowering: every value resident in the device tier, one
// compute stream in program order, one arena whose offsets come from
// liveness-based buffer assignment. The planner ([D]) replaces the single
// tier and stream with placed, offloaded, multi-stream schedules.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_PLAN_LOWERTOPLAN_H
#define OFF_PLAN_LOWERTOPLAN_H

#include "runtime/plan/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::off {

/// The runtime's plan.bin schema (runtime/plan/plan.proto).
namespace plan = ::off::plan;

struct PlanOptions {
  /// Device budget in bytes (0: unlimited). Until the planner lands, a plan
  /// that does not fit is an error.
  uint64_t deviceBudget = 0;
  uint64_t alignment = 64;
  std::string producer;
  plan::Model model;
  plan::Hyper hyper;
  /// Names of the function's arguments and returned values, in order (see
  /// docs/plan-format.md); missing ones default to "input.N" / "output.N".
  std::vector<std::string> inputNames;
  std::vector<std::string> outputNames;
  /// Runs each adam_step on a host-optimizer stream, as soon as its gradient
  /// is final and its parameter no longer read (see LowerToPlan.cpp). With
  /// clipping every update waits for the global norm, i.e. for the end of
  /// the backward.
  bool optimizerStream = false;
};

/// Lowers `step` (a single-block function of off ops) to a plan. Function
/// arguments become INPUT tensors (in order), returned values OUTPUT tensors,
/// off.param PARAM, off.state OPTIMIZER_STATE, off.constant CONSTANT with
/// its bytes, the gradient operand of off.adam_step GRAD; adam_step's results
/// share the storage of its param and state operands (it updates in place).
FailureOr<plan::Plan> lowerToPlan(func::FuncOp step, const PlanOptions &options);

} // namespace mlir::off

#endif // OFF_PLAN_LOWERTOPLAN_H
