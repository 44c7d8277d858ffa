//===- LlamaBuilder.h - the built-in Llama as graph-level off IR -*- C++ -*-===//
//
// Builds the forward pass of Hugging Face's LlamaForCausalLM for a config and
// a static [batch, seq] input as
//
//   func.func @forward(%input_ids: tensor<BxTxi32> {off.name = "input_ids"})
//       -> (tensor<BxTxVxf32> {off.name = "logits"})
//
// in the fused graph-level ops (embedding, rms_norm, matmul, rope, attention,
// swiglu). The op sequence per layer is canonical: the ONNX importer's
// fuse-llm output must match it op for op (docs/frontends.md spells it out).
// Weights are `off.param` with Hugging Face's tensor names, f32, trainable.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_LLAMABUILDER_H
#define OFF_COMPILER_IMPORT_LLAMABUILDER_H

#include "compiler/Import/LlamaConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::off {

/// Loads the dialects the built module uses (off, func) into `context`.
void loadLlamaDialects(MLIRContext &context);

/// Builds and verifies the module; an input shape the config cannot take
/// (seq > max_position_embeddings, ...) is an error naming the config file.
llvm::Expected<OwningOpRef<ModuleOp>>
buildLlamaModule(MLIRContext &context, const LlamaConfig &config, int64_t batch,
                 int64_t seq);

} // namespace mlir::off

#endif // OFF_COMPILER_IMPORT_LLAMABUILDER_H
