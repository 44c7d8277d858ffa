//===- Remat.cpp - per-layer activation recomputation ---------------------===//
//
// off-remat: for each selected layer of each micro-batch, one off.recompute
// region before the layer's backward recomputes the forward values that the
// backward reads. The contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/Passes.h"
#include "dialects/off/Transforms/StepStructure.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/GlobPattern.h"

#define DEBUG_TYPE "off-remat"

namespace mlir::off {
#define GEN_PASS_DEF_REMATPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

struct RematPass : off::impl::RematPassBase<RematPass> {
  using RematPassBase::RematPassBase;

  void runOnOperation() override {
    func::FuncOp step = getOperation();
    if (step.isExternal() || remat == "none" || remat.empty())
      return;
    std::optional<llvm::GlobPattern> pattern;
    if (remat != "all") {
      llvm::Expected<llvm::GlobPattern> glob = llvm::GlobPattern::create(remat, /*MaxSubPatterns=*/1024); // {a,b} lists layers
      if (!glob) {
        step.emitError("off-remat: '") << remat << "': " << llvm::toString(glob.takeError());
        return signalPassFailure();
      }
      pattern = std::move(*glob);
    }
    StepStructure structure(step);
    if (!structure.isTraining())
      return; // a forward step has no backward to recompute for
    Block &block = step.getBody().front();

    // The forward ops of each selected layer segment, in block order.
    llvm::MapVector<int, SmallVector<Operation *>> segments;
    bool matched = false;
    for (Operation &op : block) {
      if (structure.phase(&op) != Phase::Forward || !structure.inLayerSegment(&op))
        continue;
      StringRef layer = layerOfName(structure.group(&op));
      if (pattern && !pattern->match(layer))
        continue;
      matched = true;
      segments[structure.segment(&op)].push_back(&op);
    }
    if (pattern && !matched) {
      step.emitError("off-remat: '") << remat << "' matches no layer";
      return signalPassFailure();
    }
    for (auto &[segment, ops] : segments)
      recomputeSegment(structure, ops);
  }

  void recomputeSegment(const StepStructure &structure, ArrayRef<Operation *> ops) {
    llvm::DenseSet<Operation *> inSegment(ops.begin(), ops.end());
    // Checkpoints: values a later forward op outside the segment reads.
    auto isCheckpoint = [&](Value v) {
      return llvm::any_of(v.getUsers(), [&](Operation *user) {
        return structure.phase(user) == Phase::Forward && !inSegment.contains(user);
      });
    };
    // The values to recompute: the segment's non-checkpoint values that
    // backward ops read, and the backward ops that read them.
    SmallVector<Value> needed;
    Operation *firstUser = nullptr;
    for (Operation *op : ops)
      for (Value v : op->getResults()) {
        if (isCheckpoint(v))
          continue;
        bool read = false;
        for (Operation *user : v.getUsers())
          if (structure.phase(user) == Phase::Backward) {
            read = true;
            if (!firstUser || structure.position(user) < structure.position(firstUser))
              firstUser = user;
          }
        if (read)
          needed.push_back(v);
      }
    if (needed.empty())
      return;
    // The ops they depend on inside the segment (checkpoints are kept).
    llvm::DenseSet<Operation *> keep;
    SmallVector<Operation *> work;
    for (Value v : needed)
      work.push_back(v.getDefiningOp());
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!keep.insert(op).second)
        continue;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && inSegment.contains(def) && !isCheckpoint(operand))
          work.push_back(def);
    }

    OpBuilder builder(firstUser);
    SmallVector<Type> types;
    for (Value v : needed)
      types.push_back(v.getType());
    auto region = RecomputeOp::create(builder, firstUser->getLoc(), types);
    Block *body = builder.createBlock(&region.getBody());
    builder.setInsertionPointToStart(body);
    IRMapping mapping;
    for (Operation *op : ops)
      if (keep.contains(op)) {
        Operation *copy = builder.clone(*op, mapping);
        copy->setAttr(kRecomputedAttr, builder.getUnitAttr());
        ++numRecomputedOps;
      }
    SmallVector<Value> yielded;
    for (Value v : needed)
      yielded.push_back(mapping.lookup(v));
    YieldOp::create(builder, firstUser->getLoc(), yielded);
    for (auto [v, result] : llvm::zip(needed, region.getResults()))
      v.replaceUsesWithIf(result, [&](OpOperand &use) {
        return structure.phase(use.getOwner()) == Phase::Backward;
      });
    ++numRegions;
  }
};

} // namespace
