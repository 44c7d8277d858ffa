//===- PlanFacts.cpp - what plan.bin says about params and kernels --------===//

#include "compiler/Plan/PlanFacts.h"

#include "runtime/cpu/CpuWorkspace.h"
#include "runtime/plan/PlanKernel.h"

#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::off;

namespace {

// The same value in another shape, dtype or tier.
bool isView(Operation *op) {
  return isa<ReshapeOp, TransposeOp, CastOp, BroadcastToOp, OffloadOp, PrefetchOp>(op);
}

} // namespace

plan::InitKind mlir::off::paramInitKind(ParamOp param) {
  bool normWeight = false, multiplied = false, added = false, other = false;
  llvm::SmallVector<Value> values{param.getResult()};
  while (!values.empty()) {
    Value value = values.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isView(user)) {
        values.append(user->result_begin(), user->result_end());
      } else if (isa<RmsNormOp, RmsNormGradOp>(user) && use.getOperandNumber() == 1) {
        normWeight = true;
      } else if (isa<MulOp>(user)) {
        multiplied = true;
      } else if (isa<AddOp>(user)) {
        added = true;
      } else if (!isa<AdamStepOp>(user)) {
        other = true;
      }
    }
  }
  if (normWeight || (multiplied && !added && !other))
    return plan::INIT_ONES;
  if (added && !multiplied && !other)
    return plan::INIT_ZEROS;
  return plan::INIT_NORMAL;
}

uint64_t mlir::off::kernelWorkspaceBytes(const plan::Plan &plan, const plan::Kernel &kernel) {
  std::vector<::off::backend::TensorArg> inputs = plan::kernelInputs(plan, kernel);
  std::vector<::off::backend::TensorArg> outputs = plan::kernelOutputs(plan, kernel);
  ::off::backend::KernelAttrs attrs = plan::kernelAttrs(kernel);
  return ::off::cpu::cpuWorkspaceBytes({kernel.op(), inputs, outputs, attrs});
}
