//===- OnnxImporter.h - ONNX model to graph-level off IR --------*- C++ -*-===//
//
// Imports an ONNX model (as torch.onnx.export writes Hugging Face Llama, with
// the TorchScript or the dynamo exporter) into
//
//   func.func @forward(%input_ids: tensor<BxTxi32> {off.name = "input_ids"})
//       -> (tensor<BxTxVxf32> {off.name = "logits"})
//
// with static shapes (dynamic input dimensions come from `inputShapes`),
// weights as `off.param` (Hugging Face names where the export keeps them) and
// every other initializer as `off.constant` (see docs/frontends.md, "Weights
// and constants"). The graph is the exporter's, translated op by op: the
// import passes of the registered pipeline (off-fold-shapes, off-fuse-llm;
// dialects/off/Transforms/Passes.h) turn it into the built-in Llama's fused
// graph.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_ONNXIMPORTER_H
#define OFF_COMPILER_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::off {

/// How initializers that the exporter merged are taken (--shared-weights).
enum class SharedWeights {
  Auto,  ///< one weight per module when all elements are equal, else tied
  Split, ///< one weight per module always
  Tied,  ///< one weight per initializer always
};

struct OnnxImportOptions {
  /// The .onnx file; external data files are read relative to its folder.
  std::string modelPath;
  /// Static shapes of graph inputs by name (`--shape input_ids=2x128`): needed
  /// for every input with a dynamic dimension, checked against static ones.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// --trainable GLOB: initializers (ONNX or param name) taken as trainable
  /// weights whatever the rule says; --frozen GLOB: weights that get no
  /// gradient and no optimizer step.
  std::vector<std::string> trainable, frozen;
  SharedWeights sharedWeights = SharedWeights::Auto;
  /// Largest tensor (in elements) evaluated while importing (masks, tables).
  int64_t maxConstantElements = int64_t{1} << 26;
  /// When set, the model's bytes (modelPath only names it and locates its
  /// external data): for the fuzzer.
  std::optional<llvm::StringRef> modelContents;
};

namespace onnx_import {
class OnnxModelFile;
}

/// What the importer made of the model's initializers (printed by `offc
/// import`, listed by --stats).
struct OnnxImportSummary {
  struct Initializer {
    std::string name;     ///< ONNX name
    std::string param;    ///< the param's name (weights)
    int64_t elements = 0;
    std::string why;      ///< the rule that decided
    bool trainable = true;
  };
  /// One per param (a split initializer gives several).
  std::vector<Initializer> weights;
  /// Floating-point initializers with >= 2 elements taken as constants.
  std::vector<Initializer> constants;
  /// Scalars and integer or boolean initializers (always constants).
  int64_t smallConstants = 0;
  /// Merged initializers split or kept tied, one line each.
  std::vector<std::string> notes;
};

/// The initializer values behind the `off.param`s of an imported module, in
/// the layout and under the names the IR declares (a pre-transposed Linear
/// weight comes back as Hugging Face's [out, in]). Keeps the model file (and
/// its memory-mapped external data) open; every byte range was checked when
/// the model was imported, so writing cannot fail but for the stream.
class OnnxWeights {
public:
  struct Entry {
    std::string name;                  ///< the param's name in the IR
    std::string onnxName;              ///< the initializer it comes from
    SmallVector<int64_t> shape;        ///< as the IR declares it
    bool transposed = false;           ///< 2-D, stored [in, out] in ONNX
    const void *tensor = nullptr;      ///< the onnx::TensorProto
    std::optional<llvm::StringRef> raw; ///< its bytes, unless typed fields
  };
  OnnxWeights(std::unique_ptr<onnx_import::OnnxModelFile> file,
              std::vector<Entry> entries);
  ~OnnxWeights();

  const std::vector<Entry> &entries() const { return tensors; }
  /// Bytes the safetensors file will have.
  uint64_t fileSize() const;
  /// Streams every entry as F32 safetensors (header, then the data in entry
  /// order), converting f16/bf16/f64 values and transposing where needed.
  void writeSafetensors(llvm::raw_ostream &os) const;
  /// Streams one entry's values as F32 in the IR's layout (no header).
  void writeF32(llvm::raw_ostream &os, const Entry &entry) const;

  /// Where an entry stored as external data lies, for a plan that reads it
  /// in place; nullopt for one inside the .onnx file or of another dtype
  /// than f32/f16/bf16.
  struct External {
    std::string path;                  ///< the data file, absolute
    uint64_t offset = 0;               ///< of the tensor's first byte
    uint64_t fileSize = 0;
    std::string dtype;                 ///< "f32", "f16" or "bf16"
    SmallVector<int64_t> storedShape;  ///< the ONNX dims
    llvm::StringRef bytes;             ///< the tensor's bytes (mapped)
  };
  std::optional<External> external(const Entry &entry) const;

private:
  std::string header() const;
  std::unique_ptr<onnx_import::OnnxModelFile> file;
  std::vector<Entry> tensors;
};

/// Parses, checks (libonnx's checker when the opset allows it, see
/// docs/frontends.md), decides weights and constants, translates. Errors name the
/// file and, where one is at fault, the node: `model.onnx: node 'n' (Op,
/// opset N) ...`. A note on which validation ran is emitted as a remark on
/// `context`. When
/// `weights` is given it receives the values of the module's params
/// (`offc import --weights-out`).
llvm::Expected<OwningOpRef<ModuleOp>>
importOnnxModel(MLIRContext &context, const OnnxImportOptions &options,
                std::shared_ptr<OnnxWeights> *weights = nullptr,
                OnnxImportSummary *summary = nullptr);

/// The ONNX op types the importer translates, sorted.
llvm::SmallVector<std::string> supportedOnnxOps();

} // namespace mlir::off

#endif // OFF_COMPILER_IMPORT_ONNXIMPORTER_H
