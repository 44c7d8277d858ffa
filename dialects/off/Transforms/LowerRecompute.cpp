//===- LowerRecompute.cpp - off.recompute to the kernels of its region ----===//
//
// off-lower-recompute: the region's ops move in front of the op, which is
// replaced by what it yields. The contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/Passes.h"

#define DEBUG_TYPE "off-lower-recompute"

namespace mlir::off {
#define GEN_PASS_DEF_LOWERRECOMPUTEPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

struct LowerRecomputePass : off::impl::LowerRecomputePassBase<LowerRecomputePass> {
  void runOnOperation() override {
    SmallVector<RecomputeOp> regions;
    getOperation().walk([&](RecomputeOp op) { regions.push_back(op); });
    // Inner regions first (walk is post-order), so nested ones are flat
    // by the time their parent is lowered.
    for (RecomputeOp op : regions) {
      Block &body = op.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      SmallVector<Value> values(yield.getValues());
      yield.erase();
      op->getBlock()->getOperations().splice(op->getIterator(),
                                             body.getOperations());
      op.replaceAllUsesWith(values);
      op.erase();
    }
  }
};

} // namespace
