//===- StepStructure.h - phases, layers and segments of a step --*- C++ -*-===//
//
// How the memory-level passes see a training step (off-autodiff's output):
//
// * Phase: forward ops are the ancestors of a cross_entropy (every op when
//   there is none: a forward step); AdamW, global_norm and norm_combine
//   are the update; the rest is the backward (norm_partial included: it
//   runs with its gradient). Params, states and constants are sources.
// * Group: the params an op reads name it: `<prefix>.layers.N` for a layer's
//   params, the param's own name otherwise (embedding, final norm, head);
//   an op that reads no param belongs to the group of the op before it in
//   the same phase.
// * Segment: a maximal run of consecutive ops (sources skipped) with the
//   same phase and group. Layer segments are those of a `layers.N` group;
//   `layerIndex` counts them in block order, the distance the passes use for
//   "one layer ahead".
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_STEPSTRUCTURE_H
#define OFF_TRANSFORMS_STEPSTRUCTURE_H

#include "dialects/off/IR/OffDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::off {

enum class Phase { Source, Forward, Backward, Update };

/// "model.layers.3" for "model.layers.3.mlp.up_proj.weight"; empty when the
/// name has no `layers.N` component.
llvm::StringRef layerOfName(llvm::StringRef name);

class StepStructure {
public:
  explicit StepStructure(func::FuncOp step);

  bool isTraining() const { return training; }
  Phase phase(Operation *op) const;
  /// The op's group (empty for sources and ops before any param).
  llvm::StringRef group(Operation *op) const;
  /// The op's segment, -1 for sources.
  int segment(Operation *op) const;
  /// The number of layer segments that start at or before `op`'s segment.
  int layerIndex(Operation *op) const;
  /// True when `op` is in a layer segment (not a source, not a segment of
  /// the embedding, head or update).
  bool inLayerSegment(Operation *op) const {
    return !layerOfName(group(op)).empty() && phase(op) != Phase::Update;
  }
  /// The first op of the layer segment with this index (1-based, as
  /// layerIndex returns), or nullptr.
  Operation *layerSegmentStart(int layerIndex) const;
  /// Position of `op` in the block (sources too).
  int position(Operation *op) const { return positions.lookup(op); }

  /// A forward value that a backward op reads (an activation saved for
  /// the backward).
  bool isSaved(Value value) const;

private:
  struct OpInfo {
    Phase phase = Phase::Source;
    int segment = -1;
    int layerIndex = 0;
    std::string group;
  };
  bool training = false;
  llvm::DenseMap<Operation *, OpInfo> info;
  llvm::DenseMap<Operation *, int> positions;
  std::vector<Operation *> layerStarts; // index i: layer segment i + 1
};

} // namespace mlir::off

#endif // OFF_TRANSFORMS_STEPSTRUCTURE_H
