//===- MemoryAnalysis.cpp - storage and happens-before of a step ----------===//

#include "dialects/off/Transforms/MemoryAnalysis.h"

using namespace mlir;
using namespace mlir::off;

Value mlir::off::storageRoot(Value value) {
  while (true) {
    Operation *def = value.getDefiningOp();
    if (auto reshape = dyn_cast_or_null<ReshapeOp>(def)) {
      value = reshape.getInput();
    } else if (auto adam = dyn_cast_or_null<AdamStepOp>(def)) {
      unsigned index = cast<OpResult>(value).getResultNumber();
      Value storage[] = {adam.getParam(), adam.getExpAvg(), adam.getExpAvgSq(),
                         adam.getComputeCopy()};
      value = storage[index];
    } else if (auto offload = dyn_cast_or_null<OffloadOp>(def);
               offload && offload.getInto() && value == offload.getResult()) {
      value = offload.getInto();
    } else if (auto prefetch = dyn_cast_or_null<PrefetchOp>(def);
               prefetch && prefetch.getInto() && value == prefetch.getResult()) {
      value = prefetch.getInto();
    } else {
      return value;
    }
  }
}

HappensBefore::HappensBefore(Block &block) {
  std::array<Clock, kStreams> streams{};
  for (Clock &clock : streams)
    clock.fill(0);
  for (Operation &op : block) {
    unsigned s = static_cast<unsigned>(getStream(&op));
    Clock &clock = streams[s];
    if (auto wait = dyn_cast<WaitOp>(op))
      for (Value token : wait.getTokens()) {
        auto it = tokens.find(token);
        if (it == tokens.end())
          continue; // a token from outside the block orders nothing here
        for (unsigned i = 0; i < kStreams; ++i)
          clock[i] = std::max(clock[i], it->second[i]);
      }
    ++clock[s];
    clocks[&op] = clock;
    for (Value result : op.getResults())
      if (isa<TokenType>(result.getType()))
        tokens[result] = clock;
  }
}

uint32_t HappensBefore::position(Operation *op) const {
  return clock(op)[static_cast<unsigned>(getStream(op))];
}

bool HappensBefore::before(Operation *a, Operation *b) const {
  if (a == b)
    return false;
  unsigned s = static_cast<unsigned>(getStream(a));
  return clock(b)[s] >= clock(a)[s] &&
         (getStream(b) != getStream(a) || position(b) > position(a));
}
