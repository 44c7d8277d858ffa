//===- MemoryAnalysis.h - storage and happens-before of a step ---*- C++ -*-===//
//
// What the memory-level passes share about a scheduled step function (one
// block, ops tagged with `off.stream`, tokens between streams):
//
// * Storage: which values share bytes. A reshape is a view of its input,
//   adam_step's results are its param / exp_avg / exp_avg_sq updated in
//   place, a transfer `into` a param or state is that param or state.
// * HappensBefore: the order the streams and tokens give: each stream runs
//   its ops in block order; a transfer's token completes after the transfer,
//   an off.record's after every earlier op of its stream; an off.wait orders
//   its stream after its tokens. Vector clocks, one entry per stream.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_MEMORYANALYSIS_H
#define OFF_TRANSFORMS_MEMORYANALYSIS_H

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/Block.h"
#include "llvm/ADT/DenseMap.h"

#include <array>

namespace mlir::off {

/// The value whose buffer `value` uses (itself when it owns one).
Value storageRoot(Value value);

/// Vector clocks over the ops of one block.
class HappensBefore {
public:
  static constexpr unsigned kStreams = 6;
  using Clock = std::array<uint32_t, kStreams>;

  explicit HappensBefore(Block &block);

  /// True when `a` completes before `b` starts in every execution: `a` is
  /// before `b` on the same stream, or a chain of tokens orders them.
  bool before(Operation *a, Operation *b) const;
  /// The clock after `op` ran: entry s counts the ops of stream s that
  /// happen before it or are it.
  const Clock &clock(Operation *op) const { return clocks.at(op); }
  /// 1-based position of `op` in its stream.
  uint32_t position(Operation *op) const;

private:
  llvm::DenseMap<Operation *, Clock> clocks;
  llvm::DenseMap<Value, Clock> tokens;
};

} // namespace mlir::off

#endif // OFF_TRANSFORMS_MEMORYANALYSIS_H
