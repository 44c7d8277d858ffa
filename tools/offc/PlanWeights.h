// `offc compile MODEL.onnx`: the export's weights kept with the plan without
// copying what is already a file. Each param gets a plan.proto WeightSource:
// an initializer stored as external data (f32/f16/bf16) is referenced in
// place; every other one (stored inside the .onnx file) is written as F32,
// in the IR's layout, to PLAN.weights beside the plan, and referenced there.
#pragma once

#include "runtime/plan/Plan.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir::off {
class OnnxWeights;
}

namespace off::offc {

/// What attachPlanWeights did, for offc's summary line.
struct PlanWeightsSummary {
  size_t inPlace = 0;     // params read from the export's external data
  size_t written = 0;     // params written to weightsFile
  std::string weightsFile; // PLAN.weights when written
};

/// Fills `model.weights` for every entry of `weights` and writes
/// PLAN.weights (atomically) when some initializer is inside the .onnx file.
llvm::Expected<PlanWeightsSummary> attachPlanWeights(const mlir::off::OnnxWeights &weights,
                                                     const std::string &planPath,
                                                     plan::Model &model);

} // namespace off::offc
