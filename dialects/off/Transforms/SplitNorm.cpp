//===- SplitNorm.cpp - the global gradient norm in per-gradient halves ----===//
//
// off-split-norm: `off.global_norm` reads every gradient at once, so every
// gradient had to stay alive (on the device) until the end of the backward,
// which alone is the size of the params. Each gradient's block sums of
// squares (`off.norm_partial`) are taken right after the gradient is made
// and only those few f64 stay alive for `off.norm_combine`; the sums and
// their order are global_norm's own, so the norm is the same bits. The
// contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

#define DEBUG_TYPE "off-split-norm"

namespace mlir::off {
#define GEN_PASS_DEF_SPLITNORMPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

struct SplitNormPass : off::impl::SplitNormPassBase<SplitNormPass> {
  // The decisions of the memory level are made on the split form; a step
  // that already carries them would keep gradients alive it has planned for.
  LogicalResult checkPrecondition(func::FuncOp step) {
    WalkResult walk = step.walk([&](Operation *op) {
      if (isa<OffloadOp, PrefetchOp, RecomputeOp>(op) || op->hasAttr("off.home")) {
        op->emitError("off-split-norm: the step already has memory-level "
                      "decisions (run it before off-place)");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return failure(walk.wasInterrupted());
  }

  void runOnOperation() override {
    func::FuncOp step = getOperation();
    if (failed(checkPrecondition(step)))
      return signalPassFailure();
    SmallVector<GlobalNormOp> norms;
    step.walk([&](GlobalNormOp op) { norms.push_back(op); });
    for (GlobalNormOp norm : norms) {
      for (Value input : norm.getInputs())
        if (!cast<RankedTensorType>(input.getType()).hasStaticShape()) {
          norm.emitError("off-split-norm: needs static shapes, got ")
              << input.getType();
          return signalPassFailure();
        }
      // One partial per distinct gradient (a gradient listed twice adds its
      // block sums twice, as global_norm would), right after its producer.
      llvm::DenseMap<Value, Value> partialOf;
      SmallVector<Value> partials;
      for (Value input : norm.getInputs()) {
        Value &partial = partialOf[input];
        if (!partial) {
          OpBuilder b(step.getContext());
          if (Operation *def = input.getDefiningOp())
            b.setInsertionPointAfter(def);
          else
            b.setInsertionPointToStart(cast<BlockArgument>(input).getOwner());
          partial = NormPartialOp::create(b, norm.getLoc(), input);
          ++numPartials;
        }
        partials.push_back(partial);
      }
      OpBuilder b(norm);
      Value combined = NormCombineOp::create(b, norm.getLoc(),
                                             norm.getNorm().getType(), partials);
      norm.getNorm().replaceAllUsesWith(combined);
      norm.erase();
    }
  }
};

} // namespace
