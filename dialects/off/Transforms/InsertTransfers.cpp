//===- InsertTransfers.cpp - offload, prefetch, wait and free -------------===//
//
// off-insert-transfers: realises off-place's `off.home` decisions with
// transfers, waits and frees, per group of uses. The contract is in
// Passes.td; the steps are in runOnOperation.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/Passes.h"
#include "dialects/off/Transforms/StepStructure.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "off-insert-transfers"

namespace mlir::off {
#define GEN_PASS_DEF_INSERTTRANSFERSPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

Tier homeOf(Value value) {
  if (Operation *def = value.getDefiningOp())
    if (auto home = def->getAttrOfType<TierAttr>(kHomeAttr))
      return home.getValue();
  return Tier::device;
}

/// A value and the token of the transfer that made it (null: ready).
struct Ready {
  Value value;
  Value token;
  Operation *last = nullptr; // the last op inserted to make it
};

/// A group of uses of one value that read one copy.
struct Cluster {
  Tier tier;
  SmallVector<OpOperand *> uses; // in block order
};

/// The operands AdamW updates in place, in the order of its results: param,
/// exp_avg, exp_avg_sq and, in a mixed-precision step, the compute copy.
SmallVector<OpOperand *> inPlaceOperands(AdamStepOp adam) {
  SmallVector<OpOperand *> operands = {&adam.getParamMutable(), &adam.getExpAvgMutable(),
                                       &adam.getExpAvgSqMutable()};
  if (adam.getComputeCopy())
    operands.push_back(&adam->getOpOperand(adam->getNumOperands() - 1));
  return operands;
}

class Inserter {
public:
  Inserter(func::FuncOp step, int64_t &numTransfers, int64_t prefetchLayers)
      : step(step), block(step.getBody().front()), builder(step.getContext()),
        numTransfers(numTransfers), prefetchLayers(prefetchLayers) {}

  LogicalResult run(int64_t &numHoisted);

private:
  Tier adamTier(AdamStepOp adam) const {
    return homeOf(adam.getExpAvg()) != Tier::device ||
                   homeOf(adam.getExpAvgSq()) != Tier::device
               ? Tier::host
               : Tier::device;
  }
  Tier requiredTier(OpOperand &use) const {
    if (auto adam = dyn_cast<AdamStepOp>(use.getOwner()))
      return adamTiers.lookup(adam);
    return Tier::device;
  }
  Stream streamOf(Operation *op) const {
    if (auto adam = dyn_cast<AdamStepOp>(op))
      return adamTiers.lookup(adam) == Tier::host ? Stream::host_optimizer
                                                  : Stream::compute;
    if (auto attr = op->getAttrOfType<StreamAttr>(kStreamAttr))
      return attr.getValue();
    return Stream::compute;
  }

  int numHoisted = 0;
  void hoistHostAdams();
  void placeValue(Value value, const StepStructure &s);
  Ready chain(Ready from, Tier fromTier, Tier toTier, Value into,
              Operation **firstHop);
  Operation *wait(Value token, std::optional<Stream> stream);
  void freeAfter(Value value, Operation *after, Stream stream);
  SmallVector<Cluster> clusters(Value value, const StepStructure &s);
  Operation *prefetchPoint(Operation *firstUse, const StepStructure &s);
  void writeBack(AdamStepOp adam, ArrayRef<Value> sources);

  func::FuncOp step;
  Block &block;
  OpBuilder builder;
  int64_t &numTransfers;
  int64_t prefetchLayers; // 1: one layer ahead; 0: at the use (no overlap)
  llvm::DenseMap<AdamStepOp, Tier> adamTiers;
  /// Adam operands copied into AdamW's tier and written back after it:
  /// their copies are freed after the write-back, not after the update.
  llvm::DenseSet<OpOperand *> writtenBack;
};

Operation *Inserter::wait(Value token, std::optional<Stream> stream) {
  auto op = WaitOp::create(builder, token.getLoc(), ValueRange{token});
  if (stream)
    setStream(op, *stream);
  return op;
}

void Inserter::freeAfter(Value value, Operation *after, Stream stream) {
  if (after->hasTrait<mlir::OpTrait::IsTerminator>())
    return; // read after the step: nothing to free
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointAfter(after);
  auto op = FreeOp::create(builder, value.getLoc(), value, getTier(value.getType()));
  setStream(op, stream);
}

/// Transfers `from` (in `fromTier`) hop by hop to `toTier` at the builder's
/// insertion point; the last hop writes `into` when given. Each hop waits
/// for what it reads on its own stream; a staging copy made on the way is
/// freed after the hop that reads it. `firstHop` receives the first transfer.
Ready Inserter::chain(Ready from, Tier fromTier, Tier toTier, Value into,
                      Operation **firstHop) {
  Ready current = from;
  Tier tier = fromTier;
  while (tier != toTier) {
    Tier next = static_cast<int>(toTier) > static_cast<int>(tier)
                    ? static_cast<Tier>(static_cast<int>(tier) + 1)
                    : static_cast<Tier>(static_cast<int>(tier) - 1);
    Stream stream = *transferStream(tier, next);
    if (current.token)
      wait(current.token, stream);
    Value hopInto = next == toTier ? into : Value();
    Location loc = from.value.getLoc();
    Operation *hop;
    if (static_cast<int>(next) > static_cast<int>(tier))
      hop = OffloadOp::create(builder, loc, current.value, hopInto, tier, next);
    else
      hop = PrefetchOp::create(builder, loc, current.value, hopInto, tier, next);
    setStream(hop, stream);
    ++numTransfers;
    if (firstHop && !*firstHop)
      *firstHop = hop;
    Operation *last = hop;
    if (current.value != from.value) { // a staging copy made by this chain
      last = FreeOp::create(builder, loc, current.value, tier);
      setStream(last, stream);
    }
    current = {hop->getResult(0), hop->getResult(1), last};
    tier = next;
  }
  return current;
}

/// Uses grouped by the tier they need; within a tier, uses at least two
/// layer segments apart read separate copies.
SmallVector<Cluster> Inserter::clusters(Value value, const StepStructure &s) {
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : value.getUses())
    uses.push_back(&use);
  llvm::stable_sort(uses, [&](OpOperand *a, OpOperand *b) {
    return s.position(a->getOwner()) < s.position(b->getOwner());
  });
  SmallVector<Cluster> result;
  llvm::DenseMap<unsigned, size_t> open; // tier -> index in result
  for (OpOperand *use : uses) {
    Tier tier = requiredTier(*use);
    auto it = open.find(static_cast<unsigned>(tier));
    if (it != open.end()) {
      Cluster &cluster = result[it->second];
      Operation *previous = cluster.uses.back()->getOwner();
      if (s.layerIndex(use->getOwner()) - s.layerIndex(previous) < 2) {
        cluster.uses.push_back(use);
        continue;
      }
    }
    open[static_cast<unsigned>(tier)] = result.size();
    result.push_back({tier, {use}});
  }
  return result;
}

/// Where to issue the copy for a group of uses starting at `firstUse`: one
/// layer ahead (the start of the layer segment before, or of the one it
/// follows), never after the use.
Operation *Inserter::prefetchPoint(Operation *firstUse, const StepStructure &s) {
  if (prefetchLayers == 0)
    return firstUse;
  int index = s.layerIndex(firstUse) - (s.inLayerSegment(firstUse) ? 1 : 0);
  Operation *point = s.layerSegmentStart(index);
  if (!point) // before any layer: the first op that is not a source
    for (Operation &op : block)
      if (s.phase(&op) != Phase::Source) {
        point = &op;
        break;
      }
  if (!point || s.position(point) > s.position(firstUse))
    return firstUse;
  return point;
}

LogicalResult Inserter::run(int64_t &hoisted) {
  for (Operation &op : block) {
    if (isa<OffloadOp, PrefetchOp, WaitOp, FreeOp, RecordOp>(op))
      return op.emitError("off-insert-transfers: the step already has "
                          "transfers (run it once, before off-schedule)");
    if (isa<RecomputeOp>(op))
      return op.emitError("off-insert-transfers: run off-lower-recompute first");
    if (auto adam = dyn_cast<AdamStepOp>(op))
      adamTiers[adam] = adamTier(adam);
  }
  // An unclipped AdamW does not read the norm; a host one stops asking
  // (and so need not wait for the end of the backward).
  for (auto [adam, tier] : adamTiers)
    if (tier == Tier::host && adam.getNorm() && !adam.getMaxGradNormAttr())
      adam.getNormMutable().clear();
  hoistHostAdams();
  hoisted = numHoisted;

  StepStructure s(step);
  // Params and states live in their home tier from now on.
  for (Operation &op : block)
    if (isa<ParamOp, StateOp>(op)) {
      Value v = op.getResult(0);
      v.setType(withTier(cast<RankedTensorType>(v.getType()), homeOf(v)));
    }
  // AdamW's in-place operands before they are rewired to copies.
  llvm::DenseMap<AdamStepOp, SmallVector<Value>> adamSources;
  for (auto [adam, tier] : adamTiers)
    for (OpOperand *operand : inPlaceOperands(adam))
      adamSources[adam].push_back(operand->get());

  SmallVector<Value> values;
  for (BlockArgument arg : block.getArguments())
    values.push_back(arg);
  for (Operation &op : block)
    if (!isa<AdamStepOp>(op))
      for (Value result : op.getResults())
        values.push_back(result);
  // Which adam operands get written back: an in-place operand whose tensor
  // lives in another tier than AdamW runs in.
  for (auto &[adam, sources] : adamSources)
    for (auto [operand, source] : llvm::zip(inPlaceOperands(adam), sources))
      if (homeOf(source) != adamTiers.lookup(adam))
        writtenBack.insert(operand);
  for (Value v : values)
    if (isa<RankedTensorType>(v.getType()))
      placeValue(v, s);
  for (auto &[adam, sources] : adamSources) {
    for (auto [i, operand] : llvm::enumerate(inPlaceOperands(adam)))
      adam->getResult(i).setType(operand->get().getType());
    writeBack(adam, sources);
  }
  block.walk([](Operation *op) { op->removeAttr(kHomeAttr); });
  return success();
}

/// Moves each host AdamW (with nothing but its operands' producers and its
/// tensors' other users to follow) up to right after the last of them.
void Inserter::hoistHostAdams() {
  if (llvm::none_of(adamTiers, [](auto &entry) { return entry.second == Tier::host; }))
    return;
  // Optimizer states are declarations: they move up to the params.
  Operation *lastSource = nullptr;
  for (Operation &op : block) {
    if (!isa<ParamOp>(op))
      break;
    lastSource = &op;
  }
  SmallVector<StateOp> states;
  for (Operation &op : block)
    if (auto state = dyn_cast<StateOp>(op))
      states.push_back(state);
  for (StateOp state : states) {
    if (lastSource)
      state->moveAfter(lastSource);
    else
      state->moveBefore(&block.front());
    lastSource = state;
  }
  llvm::DenseMap<Operation *, int> position;
  int index = 0;
  for (Operation &op : block)
    position[&op] = index++;
  SmallVector<std::pair<Operation *, AdamStepOp>> moves;
  for (Operation &op : block) {
    auto adam = dyn_cast<AdamStepOp>(op);
    if (!adam || adamTiers.lookup(adam) != Tier::host)
      continue;
    Operation *after = nullptr;
    auto later = [&](Operation *candidate) {
      if (candidate && candidate != adam &&
          position[candidate] < position[adam] &&
          (!after || position[candidate] > position[after]))
        after = candidate;
    };
    for (Value operand : adam->getOperands())
      later(operand.getDefiningOp());
    for (OpOperand *tensor : inPlaceOperands(adam))
      for (Operation *user : tensor->get().getUsers())
        later(user);
    if (after && after->getNextNode() != adam.getOperation())
      moves.push_back({after, adam});
  }
  llvm::stable_sort(moves, [&](auto &a, auto &b) {
    return position[a.first] < position[b.first];
  });
  Operation *previousAfter = nullptr, *lastMoved = nullptr;
  for (auto [after, adam] : moves) {
    adam->moveAfter(after == previousAfter ? lastMoved : after);
    previousAfter = after;
    lastMoved = adam;
    ++numHoisted;
  }
}

void Inserter::placeValue(Value value, const StepStructure &s) {
  Tier home = homeOf(value);
  Operation *def = value.getDefiningOp();
  bool produced = def && !isa<ParamOp, StateOp>(def); // computed on the device
  SmallVector<Cluster> groups = clusters(value, s);
  if (groups.empty())
    return;
  // A value computed on the device and placed elsewhere: the uses up to
  // the next layer read the device original.
  size_t first = 0;
  if (produced && home != Tier::device && groups[0].tier == Tier::device &&
      s.layerIndex(groups[0].uses.front()->getOwner()) - s.layerIndex(def) <= 1)
    first = 1;
  if (produced && home != Tier::device && first == groups.size())
    return; // nothing reads it after the next layer: it stays on the device

  Ready original{value, Value(), def};
  std::optional<Ready> homeCopy;
  Operation *offloadOfOriginal = nullptr;
  Operation *lastDeviceUse = first ? groups[0].uses.back()->getOwner() : nullptr;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Cluster &c = groups[g];
    Operation *firstUse = c.uses.front()->getOwner();
    Operation *lastUse = c.uses.back()->getOwner();
    Ready source = original;
    Tier sourceTier = produced ? Tier::device : home;
    if (produced && home != Tier::device && g >= first) {
      if (!homeCopy) { // offloaded as soon as it is computed
        builder.setInsertionPointAfter(def);
        homeCopy = chain(original, Tier::device, home, Value(), &offloadOfOriginal);
      }
      source = *homeCopy;
      sourceTier = home;
    }
    if (produced && sourceTier == Tier::device && c.tier == Tier::device)
      lastDeviceUse = lastUse;
    Ready copy = source;
    bool made = c.tier != sourceTier;
    if (made) {
      bool towardFaster = static_cast<int>(c.tier) < static_cast<int>(sourceTier);
      if (towardFaster) { // one layer ahead, but after the source exists
        Operation *point = prefetchPoint(firstUse, s);
        if (produced && s.position(point) <= s.position(def))
          builder.setInsertionPointAfter(source.last);
        else
          builder.setInsertionPoint(point);
      } else if (produced) { // as soon as the value exists
        builder.setInsertionPointAfter(source.last);
      } else {
        builder.setInsertionPoint(firstUse);
      }
      copy = chain(source, sourceTier, c.tier, Value(),
                   produced && sourceTier == Tier::device ? &offloadOfOriginal
                                                          : nullptr);
    }
    if (copy.token) {
      builder.setInsertionPoint(firstUse);
      wait(copy.token, std::nullopt);
    }
    for (OpOperand *use : c.uses)
      use->set(copy.value);
    bool keptForWriteBack = llvm::any_of(
        c.uses, [&](OpOperand *use) { return writtenBack.contains(use); });
    if (made && !keptForWriteBack)
      freeAfter(copy.value, lastUse, streamOf(lastUse));
  }

  // The device original of a value copied off the device: freed after a
  // wait for the copy, once its own uses are over and the next layer has
  // begun (the copy runs meanwhile).
  if (!offloadOfOriginal)
    return;
  Operation *point = s.layerSegmentStart(s.layerIndex(def) + 1);
  if (lastDeviceUse && (!point || s.position(point) <= s.position(lastDeviceUse)))
    point = lastDeviceUse->getNextNode();
  if (!point || point == block.getTerminator())
    return;
  builder.setInsertionPoint(point);
  wait(offloadOfOriginal->getResult(1), Stream::compute);
  auto free = FreeOp::create(builder, value.getLoc(), value, Tier::device);
  setStream(free, Stream::compute);
}

/// After AdamW: its updated param / moments go back to where they live;
/// the copies it updated are freed once read.
void Inserter::writeBack(AdamStepOp adam, ArrayRef<Value> sources) {
  Tier tier = adamTiers.lookup(adam);
  builder.setInsertionPointAfter(adam);
  for (auto [i, source] : llvm::enumerate(sources)) {
    Tier home = getTier(source.getType());
    if (home == tier)
      continue;
    Operation *firstHop = nullptr;
    Value updated = adam->getResult(i);
    chain({updated, Value(), adam}, tier, home, source, &firstHop);
    freeAfter(updated, firstHop, streamOf(firstHop));
  }
}

struct InsertTransfersPass
    : off::impl::InsertTransfersPassBase<InsertTransfersPass> {
  using InsertTransfersPassBase::InsertTransfersPassBase;
  void runOnOperation() override {
    func::FuncOp step = getOperation();
    if (step.isExternal())
      return;
    int64_t transfers = 0, hoisted = 0;
    if (prefetch != 0 && prefetch != 1) {
      step.emitError("off-insert-transfers: prefetch must be 0 or 1, got ") << int64_t(prefetch);
      return signalPassFailure();
    }
    Inserter inserter(step, transfers, prefetch);
    if (failed(inserter.run(hoisted)))
      return signalPassFailure();
    numTransfers = transfers;
    numHoisted = hoisted;
  }
};

} // namespace
