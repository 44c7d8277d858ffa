//===- ModelStats.h - size and cost figures of a graph-level module -*- C++ -*-===//
//
// Computed from any module of graph-level off ops, whichever frontend made it
// (built-in Llama or ONNX), so `offc import --stats` means the same for both.
//
// FLOP conventions (one forward step, the function's static shapes):
//   matmul      2*M*N*K per batch element (broadcast batch dims multiplied in);
//   attention   the full QK^T and PV products, 2*B*Hq*T*S*(D + Dv), even when
//               causal (the convention of the usual MFU calculators; a causal
//               kernel does about half), plus 5 per score for the softmax;
//   elementwise a small count per output element: add/sub/mul/div/neg/exp/
//               sqrt/rsqrt/cast 1, sigmoid 3, silu 4, swiglu 5, rope 3,
//               rms_norm 4, softmax 5, reduce_* 1 per input element,
//               cross_entropy 4 per logit; data movement (reshape,
//               transpose, slice, concat, gather, embedding) and sources 0.
// Gradient, optimizer, transfer and collective ops are not in the forward
// step: 0, each listed by name. Every op has a rule: an op without one is an
// error (computeModelStats), never a silent 0.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_MODELSTATS_H
#define OFF_COMPILER_IMPORT_MODELSTATS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::off {

struct ModelStats {
  int64_t parameters = 0;          // elements of all off.param results
  int64_t trainableParameters = 0; // elements of the trainable ones
  int64_t parameterTensors = 0;
  uint64_t flopsMatmul = 0;
  uint64_t flopsAttention = 0;     // QK^T and PV, full (see above)
  uint64_t flopsElementwise = 0;
  uint64_t flopsForward = 0;       // the sum of the three
  /// Distinct `layers.<N>.` indices in parameter names (Hugging Face
  /// naming); when no parameter is named so, the number of off.attention ops.
  int64_t layers = 0;
  std::map<std::string, int64_t> opCounts; // op name -> count, in functions
  struct Input {
    std::string name; // the argument's off.name, else "arg<N>"
    std::vector<int64_t> shape;
    std::string elementType;
  };
  std::vector<Input> inputs; // of the first function
};

/// The FLOPs of one op by the conventions above; nullopt for an op that has
/// no rule.
std::optional<uint64_t> opFlops(Operation *op);

/// Walks every function of `module`; an error naming every op that has no
/// FLOP rule.
llvm::Expected<ModelStats> computeModelStats(ModuleOp module);

/// The JSON written by --stats: parameters, trainable_parameters,
/// flops_forward, layers, op_counts, plus the breakdown and the inputs.
llvm::json::Object modelStatsToJson(const ModelStats &stats);

} // namespace mlir::off

#endif // OFF_COMPILER_IMPORT_MODELSTATS_H
