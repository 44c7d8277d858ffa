//===- Pipeline.cpp - the off-compile pipeline ----------------------------===//
//
// What `offc compile` runs and `off-opt --off-compile` reproduces: the
// import passes (off-fold-shapes, off-fuse-llm: the `off-import` pipeline,
// which `offc import` runs alone), with `precision=bf16-mixed`
// off-mix-precision, the training step (off-autodiff, unless `forward`),
// then the memory level in
// order: off-split-norm, off-place, off-remat, off-lower-recompute, off-insert-transfers,
// off-schedule, off-assign-buffers. offc then serializes the plan
// (off-serialize-plan does the same inside off-opt).
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::off;

void mlir::off::buildImportPipeline(OpPassManager &pm) {
  pm.addPass(createFoldShapesPass());
  pm.addPass(createFuseLlmPass());
}

void mlir::off::registerOffImportPipeline() {
  PassPipelineRegistration<>(
      "off-import",
      "what offc runs on a frontend's module: off-fold-shapes, off-fuse-llm",
      buildImportPipeline);
}

void mlir::off::buildOffCompilePipeline(OpPassManager &pm,
                                        const OffCompileOptions &options) {
  buildImportPipeline(pm);
  if (options.precision == "bf16-mixed")
    pm.addPass(createMixPrecisionPass());
  if (!options.forward) {
    AutodiffPassOptions autodiff;
    autodiff.gradAccum = options.gradAccum;
    autodiff.lr = options.lr;
    autodiff.beta1 = options.beta1;
    autodiff.beta2 = options.beta2;
    autodiff.eps = options.eps;
    autodiff.weightDecay = options.weightDecay;
    autodiff.clip = options.clip;
    autodiff.copyGradType = options.gradDtype == "f32" ? "f32" : "copy";
    pm.addPass(createAutodiffPass(autodiff));
  }
  OpPassManager &step = pm.nest<func::FuncOp>();
  step.addPass(createSplitNormPass());
  PlacePassOptions place;
  place.rules.assign(options.place.begin(), options.place.end());
  step.addPass(createPlacePass(place));
  RematPassOptions remat;
  remat.remat = options.remat;
  step.addPass(createRematPass(remat));
  step.addPass(createLowerRecomputePass());
  InsertTransfersPassOptions transfers;
  transfers.prefetch = options.prefetch;
  step.addPass(createInsertTransfersPass(transfers));
  step.addPass(createSchedulePass());
  AssignBuffersPassOptions buffers;
  buffers.deviceBudget = options.vram;
  buffers.hostBudget = options.hostRam;
  buffers.nvmeBudget = options.nvmeSize;
  step.addPass(createAssignBuffersPass(buffers));
}

void mlir::off::registerOffCompilePipeline() {
  PassPipelineRegistration<OffCompileOptions>(
      "off-compile",
      "the whole of offc compile up to serialization: off-fold-shapes, "
      "off-fuse-llm, off-mix-precision (precision=bf16-mixed), off-autodiff (unless "
      "forward), off-split-norm, off-place, off-remat, off-lower-recompute, "
      "off-insert-transfers, off-schedule, off-assign-buffers",
      buildOffCompilePipeline);
}
