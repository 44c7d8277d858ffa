//===- OffDialect.h - the off dialect ---------------------------*- C++ -*-===//
//
// Include this header to use the off dialect: it brings the dialect class,
// its types, attributes and ops.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_IR_OFFDIALECT_H
#define OFF_IR_OFFDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/off/IR/OffDialect.h.inc"

namespace mlir::off {
/// The side-effect resource of off.all_gather / off.reduce_scatter (see
/// Off_CommResource in OffOps.td).
struct CommResource : public SideEffects::Resource::Base<CommResource> {
  StringRef getName() final { return "off.comm"; }
};
} // namespace mlir::off

#include "dialects/off/IR/OffEnums.h.inc"
#include "dialects/off/IR/MemoryLevel.h"

#define GET_TYPEDEF_CLASSES
#include "dialects/off/IR/OffTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/off/IR/OffAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/off/IR/OffOps.h.inc"

#endif // OFF_IR_OFFDIALECT_H
