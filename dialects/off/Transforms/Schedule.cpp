//===- Schedule.cpp - streams and the events between them -----------------===//
//
// off-schedule: gives every op its stream and inserts the off.record /
// off.wait pairs that order them. One walk in block order keeps each
// stream's vector clock (as HappensBefore computes it afterwards) and adds
// an event wherever an op would otherwise not be ordered after what it
// needs. The contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/MemoryAnalysis.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "off-schedule"

namespace mlir::off {
#define GEN_PASS_DEF_SCHEDULEPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

using Clock = HappensBefore::Clock;
constexpr unsigned kStreams = HappensBefore::kStreams;

unsigned index(Stream stream) { return static_cast<unsigned>(stream); }

bool isOffOp(Operation *op) { return isa<OffDialect>(op->getDialect()); }

/// Params, states and constants hold data before the step: nothing to wait for.
bool isSource(Operation *op) { return isa<ParamOp, StateOp, ConstantOp>(op); }

/// The stream an op runs on, from what it does.
std::optional<Stream> streamFromKind(Operation *op) {
  if (auto attr = op->getAttrOfType<StreamAttr>(kStreamAttr))
    return attr.getValue();
  if (auto offload = dyn_cast<OffloadOp>(op))
    return transferStream(offload.getFrom(), offload.getTo());
  if (auto prefetch = dyn_cast<PrefetchOp>(op))
    return transferStream(prefetch.getFrom(), prefetch.getTo());
  if (isa<AdamStepOp>(op))
    return getTier(op->getOperand(0).getType()) == Tier::host ? Stream::host_optimizer
                                                              : Stream::compute;
  if (isa<WaitOp>(op))
    return std::nullopt; // the stream of what follows it
  return Stream::compute;
}

class Scheduler {
public:
  Scheduler(Block &block, int64_t &numEvents)
      : block(block), builder(block.getParentOp()->getContext()), numEvents(numEvents) {
    for (Clock &clock : streams)
      clock.fill(0);
  }

  LogicalResult run();

private:
  void assignStreams();
  void order(Operation *op);
  void advance(Operation *op);
  bool ordered(Stream s, Operation *after) const {
    auto it = clocks.find(after);
    unsigned t = index(getStream(after));
    return it == clocks.end() || streams[index(s)][t] >= it->second[t];
  }

  Block &block;
  OpBuilder builder;
  int64_t &numEvents;
  std::array<Clock, kStreams> streams;
  llvm::DenseMap<Operation *, Clock> clocks;
  llvm::DenseMap<Value, Clock> tokens;
  /// Per storage, the last op of each stream that touched it.
  llvm::DenseMap<Value, std::array<Operation *, kStreams>> lastAccess;
  /// Per tier, the last free on each stream.
  std::array<std::array<Operation *, kStreams>, 3> lastFree{};
};

void Scheduler::assignStreams() {
  SmallVector<Operation *> pendingWaits;
  for (Operation &op : block) {
    if (!isOffOp(&op) || isSource(&op))
      continue;
    std::optional<Stream> stream = streamFromKind(&op);
    if (!stream) {
      pendingWaits.push_back(&op);
      continue;
    }
    setStream(&op, *stream);
    for (Operation *wait : pendingWaits)
      setStream(wait, *stream);
    pendingWaits.clear();
  }
  for (Operation *wait : pendingWaits) // nothing after them: compute
    setStream(wait, Stream::compute);
}

/// Makes `op` (on stream S) follow what it needs: records on the streams it
/// is not yet ordered after (the fewest that cover every need: a record's
/// stream may already follow the others) and one wait for them all, right
/// before it.
void Scheduler::order(Operation *op) {
  if (!isOffOp(op) || isSource(op) || isa<WaitOp, FreeOp>(op))
    return; // a wait is itself the ordering; a free only marks the end
  Stream s = getStream(op);
  // Needs: stream t must have run its first `position` ops before op.
  llvm::DenseMap<unsigned, uint32_t> needs;
  auto need = [&](Operation *after) {
    if (!after || isSource(after) || !isOffOp(after) || getStream(after) == s)
      return;
    unsigned t = index(getStream(after));
    uint32_t position = clocks.lookup(after)[t];
    needs[t] = std::max(needs.lookup(t), position);
  };
  bool copies = s != Stream::compute && !isa<RecordOp>(op);
  if (copies && streams[index(s)][index(Stream::compute)] <
                    streams[index(Stream::compute)][index(Stream::compute)])
    needs[index(Stream::compute)] = streams[index(Stream::compute)][index(Stream::compute)];
  for (Value operand : op->getOperands())
    if (isa<RankedTensorType>(operand.getType()))
      need(operand.getDefiningOp());
  // In-place writes follow every earlier access of what they overwrite.
  SmallVector<Value> overwritten;
  if (auto adam = dyn_cast<AdamStepOp>(op))
    overwritten = {adam.getParam(), adam.getExpAvg(), adam.getExpAvgSq()};
  if (auto adam = dyn_cast<AdamStepOp>(op); adam && adam.getComputeCopy())
    overwritten.push_back(adam.getComputeCopy());
  if (auto offload = dyn_cast<OffloadOp>(op); offload && offload.getInto())
    overwritten.push_back(offload.getInto());
  if (auto prefetch = dyn_cast<PrefetchOp>(op); prefetch && prefetch.getInto())
    overwritten.push_back(prefetch.getInto());
  for (Value v : overwritten)
    if (auto it = lastAccess.find(storageRoot(v)); it != lastAccess.end())
      for (Operation *access : it->second)
        need(access);
  // A new buffer may take bytes freed before it in block order, on any
  // stream: it follows those frees.
  for (Value result : op->getResults())
    if (isa<RankedTensorType>(result.getType()) && storageRoot(result) == result)
      for (Operation *free : lastFree[static_cast<unsigned>(getTier(result.getType()))])
        need(free);

  Clock known = streams[index(s)];
  auto unmet = [&](const Clock &clock) {
    unsigned count = 0;
    for (auto [t, position] : needs)
      count += clock[t] < position;
    return count;
  };
  SmallVector<Value> events;
  builder.setInsertionPoint(op);
  while (unmet(known) > 0) {
    // The record that leaves the fewest needs unmet.
    unsigned best = kStreams, bestLeft = ~0u;
    for (auto [t, position] : needs) {
      if (known[t] >= position)
        continue;
      Clock candidate = streams[t];
      ++candidate[t];
      for (unsigned i = 0; i < kStreams; ++i)
        candidate[i] = std::max(candidate[i], known[i]);
      unsigned left = unmet(candidate);
      if (left < bestLeft || (left == bestLeft && t < best)) {
        best = t;
        bestLeft = left;
      }
    }
    auto record = RecordOp::create(builder, op->getLoc());
    setStream(record, static_cast<Stream>(best));
    advance(record);
    for (unsigned i = 0; i < kStreams; ++i)
      known[i] = std::max(known[i], clocks[record][i]);
    events.push_back(record.getToken());
    ++numEvents;
  }
  if (events.empty())
    return;
  auto wait = WaitOp::create(builder, op->getLoc(), events);
  setStream(wait, s);
  advance(wait);
}

/// The clocks after `op` runs.
void Scheduler::advance(Operation *op) {
  if (!isOffOp(op) || isSource(op))
    return;
  Clock &clock = streams[index(getStream(op))];
  if (auto wait = dyn_cast<WaitOp>(op))
    for (Value token : wait.getTokens())
      if (auto it = tokens.find(token); it != tokens.end())
        for (unsigned i = 0; i < kStreams; ++i)
          clock[i] = std::max(clock[i], it->second[i]);
  ++clock[index(getStream(op))];
  clocks[op] = clock;
  if (auto free = dyn_cast<FreeOp>(op))
    lastFree[static_cast<unsigned>(free.getFrom())][index(getStream(op))] = op;
  for (Value result : op->getResults()) {
    if (isa<TokenType>(result.getType()))
      tokens[result] = clock;
    else
      lastAccess[storageRoot(result)][index(getStream(op))] = op;
  }
  for (Value operand : op->getOperands())
    if (isa<RankedTensorType>(operand.getType()))
      lastAccess[storageRoot(operand)][index(getStream(op))] = op;
}

LogicalResult Scheduler::run() {
  assignStreams();
  SmallVector<Operation *> ops;
  for (Operation &op : block)
    ops.push_back(&op);
  for (Operation *op : ops) {
    order(op);
    advance(op);
  }
  return success();
}

struct SchedulePass : off::impl::SchedulePassBase<SchedulePass> {
  void runOnOperation() override {
    func::FuncOp step = getOperation();
    if (step.isExternal())
      return;
    int64_t events = 0;
    Scheduler scheduler(step.getBody().front(), events);
    if (failed(scheduler.run()))
      return signalPassFailure();
    numEvents = events;
  }
};

} // namespace
