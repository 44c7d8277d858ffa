//===- Passes.h - the passes over the off dialect ---------------*- C++ -*-===//
//
// Declarations (create<Name>Pass, <Name>PassOptions) and registration
// (registerOffPasses) of every pass in Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_PASSES_H
#define OFF_TRANSFORMS_PASSES_H

#include "dialects/off/IR/OffDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::off {

#define GEN_PASS_DECL
#include "dialects/off/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/off/Transforms/Passes.h.inc"

/// Options of the `off-compile` pipeline (Pipeline.cpp): the step, AdamW,
/// and the memory-level decisions and budgets.
struct OffCompileOptions : public PassPipelineOptions<OffCompileOptions> {
  PassOptions::Option<bool> forward{*this, "forward",
                                    llvm::cl::desc("A forward step: no autodiff"),
                                    llvm::cl::init(false)};
  PassOptions::Option<int64_t> gradAccum{*this, "grad-accum",
                                         llvm::cl::desc("Micro-batches per step"),
                                         llvm::cl::init(1)};
  PassOptions::Option<double> lr{*this, "lr", llvm::cl::init(1e-3)};
  PassOptions::Option<double> beta1{*this, "beta1", llvm::cl::init(0.9)};
  PassOptions::Option<double> beta2{*this, "beta2", llvm::cl::init(0.999)};
  PassOptions::Option<double> eps{*this, "eps", llvm::cl::init(1e-8)};
  PassOptions::Option<double> weightDecay{*this, "weight-decay", llvm::cl::init(0.01)};
  PassOptions::Option<double> clip{*this, "clip", llvm::cl::init(1.0)};
  PassOptions::Option<std::string> precision{
      *this, "precision",
      llvm::cl::desc("fp32, or bf16-mixed: off-mix-precision before off-autodiff"),
      llvm::cl::init("fp32")};
  PassOptions::Option<std::string> gradDtype{
      *this, "grad-dtype",
      llvm::cl::desc("bf16-mixed: the gradients of the bf16 copies, bf16 or f32"),
      llvm::cl::init("bf16")};
  PassOptions::ListOption<std::string> place{
      *this, "place", llvm::cl::desc("off-place rules CLASS_OR_PATTERN=TIER")};
  PassOptions::Option<std::string> remat{
      *this, "remat", llvm::cl::desc("off-remat: none, all or a layer pattern"),
      llvm::cl::init("none")};
  PassOptions::Option<int64_t> prefetch{
      *this, "prefetch",
      llvm::cl::desc("off-insert-transfers: copies to a faster tier issued 1 layer "
                     "ahead, or 0 (at the use: no overlap)"),
      llvm::cl::init(1)};
  PassOptions::Option<uint64_t> vram{*this, "vram",
                                     llvm::cl::desc("Device budget in bytes (0: none)"),
                                     llvm::cl::init(0)};
  PassOptions::Option<uint64_t> hostRam{*this, "host-ram",
                                        llvm::cl::desc("Host budget in bytes (0: none)"),
                                        llvm::cl::init(0)};
  PassOptions::Option<uint64_t> nvmeSize{*this, "nvme-size",
                                         llvm::cl::desc("NVMe budget in bytes (0: none)"),
                                         llvm::cl::init(0)};
};

/// `off-import` (Pipeline.cpp): what offc runs on a frontend's module (the
/// ONNX importer and the Llama builder run no passes of their own), in order
/// off-fold-shapes, off-fuse-llm. `offc import` writes its result.
void buildImportPipeline(OpPassManager &pm);
/// Registers `off-import` for off-opt.
void registerOffImportPipeline();

/// Adds the off-compile pipeline to `pm` (a pass manager on the module):
/// the off-import passes, then the step and the memory level.
void buildOffCompilePipeline(OpPassManager &pm, const OffCompileOptions &options);
/// Registers `off-compile` for off-opt.
void registerOffCompilePipeline();

} // namespace mlir::off

#endif // OFF_TRANSFORMS_PASSES_H
