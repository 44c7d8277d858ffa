// The model-selecting options shared by `offc import` and `offc compile`: (MODEL.onnx [--shape NAME=DxD...] | --model llama (--config FILE |
// --size NAME) --batch B --seq T). Defined in ImportCommand.cpp.
#pragma once

#include "runtime/common/CliCommand.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::off {
class OnnxWeights;
}

namespace off::offc {

struct ModelSourceArgs {
  std::string onnxPath;            // positional MODEL.onnx
  std::string model;               // --model (only "llama")
  std::string configPath;          // --config config.json
  std::string hfDir;               // --hf DIR: DIR/config.json (a Hugging Face model)
  std::string size;                // --size NAME
  int64_t batch = 0, seq = 0;      // --batch, --seq (0: not given)
  std::vector<std::string> shapes; // --shape NAME=DxD..., ONNX only
  std::string weightsOut;          // --weights-out FILE, ONNX only
  std::vector<std::string> trainable, frozen; // --trainable/--frozen GLOB, ONNX only
  std::string sharedWeights;       // --shared-weights auto|split|tied, ONNX only
};

/// Adds these options (and the positional MODEL.onnx) to `cmd`, under the
/// group "Model".
void addModelSourceOptions(cli::Command &cmd, ModelSourceArgs &source);

/// The list of built-in Llama sizes, for the end of --help.
std::string builtinSizesHelp();

/// Checks that exactly one model is selected and has what it needs; returns
/// a usage error message, or "" when the options are complete.
std::string checkModelSourceArgs(const ModelSourceArgs &source);

/// Checks the files before anything is read or written: the model and
/// --config must be regular files (a FIFO would block, a directory is not a
/// model) and no output may be one of them. Returns the message ("<path>:
/// ..."), or "" when all is well.
std::string checkModelSourceFiles(const ModelSourceArgs &source,
                                  const std::vector<std::string> &outputs);

/// What a plan records about its model besides the graph.
struct ModelInfo {
  std::string name;              // "llama" or "onnx"
  std::string configJson;        // HF config.json text (Llama), else empty
  double initializerRange = 0.02;
  /// ONNX: streams the model's weights as F32 safetensors under the IR's
  /// param names (for --weights-out); empty for the built-in Llama.
  std::function<void(llvm::raw_ostream &)> writeWeights;
  /// ONNX: how many initializers became weights and constants, and which
  /// merged ones were split or kept tied (one line each), for the summary.
  std::vector<std::string> importNotes;
  /// ONNX: the same as JSON for --stats ("initializers").
  llvm::json::Object importJson;
  /// ONNX: the params' values, for the plan (tools/offc/PlanWeights.h).
  std::shared_ptr<const mlir::off::OnnxWeights> onnxWeights;
};

/// Builds (Llama) or imports (ONNX) the graph-level module as the frontend
/// makes it (the off-import passes have not run); fills `info` when given.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadModelSource(mlir::MLIRContext &context, const ModelSourceArgs &source,
                ModelInfo *info = nullptr);

/// Runs the registered off-import pipeline (off-fold-shapes, off-fuse-llm)
/// on a frontend's module.
llvm::Error runImportPipeline(mlir::ModuleOp module);

} // namespace off::offc
