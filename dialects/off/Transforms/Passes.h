//===- Passes.h - the passes over the off dialect ---------------*- C++ -*-===//
//
// Declarations (create<Name>Pass, <Name>PassOptions) and registration
// (registerOffPasses) of every pass in Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_PASSES_H
#define OFF_TRANSFORMS_PASSES_H

#include "dialects/off/IR/OffDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir::off {

#define GEN_PASS_DECL
#include "dialects/off/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/off/Transforms/Passes.h.inc"

} // namespace mlir::off

#endif // OFF_TRANSFORMS_PASSES_H
