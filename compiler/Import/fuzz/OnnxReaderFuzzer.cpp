//===- OnnxReaderFuzzer.cpp - libFuzzer target for the ONNX importer ------===//
//
// Feeds each input, as the bytes of an .onnx file, through the whole import
// (reader, libonnx's checker where it applies, graph translation with a
// fixed --shape for every input, the weights check, then the off-import
// pipeline: fold-shapes, fuse-llm).
// Any outcome but a crash, a sanitizer report or a hang is fine: errors are
// the expected answer to most inputs. Built with -DOFF_BUILD_ONNX_FUZZER=ON
// (clang only); see compiler/Import/README.md.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxImporter.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext context;
  // Diagnostics (remarks, pass errors) are swallowed: only crashes matter.
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  mlir::off::OnnxImportOptions options;
  options.modelPath = "fuzz-input.onnx";
  options.modelContents = llvm::StringRef(reinterpret_cast<const char *>(data), size);
  options.inputShapes["input_ids"] = {1, 3};
  options.maxConstantElements = int64_t{1} << 20; // keep each run fast
  std::shared_ptr<mlir::off::OnnxWeights> weights;
  auto module = mlir::off::importOnnxModel(context, options, &weights);
  if (!module) {
    llvm::consumeError(module.takeError());
    return 0;
  }
  mlir::PassManager passes(&context);
  mlir::off::buildImportPipeline(passes);
  (void)passes.run(**module);
  llvm::raw_null_ostream sink;
  weights->writeSafetensors(sink);
  return 0;
}
