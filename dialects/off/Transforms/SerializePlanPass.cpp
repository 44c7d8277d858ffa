//===- SerializePlanPass.cpp - the step as plan.bin -----------------------===//
//
// off-serialize-plan: compiler/Plan/SerializePlan on the step function, with
// model and AdamW settings read from the IR, written to `output`. offc calls
// serializePlan itself (it knows the model's command-line settings). The
// contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "compiler/Plan/SerializePlan.h"
#include "dialects/off/Transforms/Passes.h"

#define DEBUG_TYPE "off-serialize-plan"

namespace mlir::off {
#define GEN_PASS_DEF_SERIALIZEPLANPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

struct SerializePlanPass : mlir::off::impl::SerializePlanPassBase<SerializePlanPass> {
  using SerializePlanPassBase::SerializePlanPassBase;

  void runOnOperation() override {
    func::FuncOp step = getOperation();
    if (step.isExternal())
      return;
    SerializeOptions options;
    options.producer = "off-opt";
    options.model = modelOf(step);
    options.hyper = hyperOf(step);
    FailureOr<plan::Plan> plan = serializePlan(step, options);
    if (failed(plan))
      return signalPassFailure();
    if (output.empty())
      return;
    std::string error;
    if (!plan::writePlanFile(*plan, output, error)) {
      step.emitError("off-serialize-plan: ") << error;
      return signalPassFailure();
    }
  }
};

} // namespace
