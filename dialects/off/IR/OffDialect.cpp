//===- OffDialect.cpp - dialect registration, types, attributes -----------===//

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::off;

#include "dialects/off/IR/OffDialect.cpp.inc"
#include "dialects/off/IR/OffEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/off/IR/OffTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/off/IR/OffAttrs.cpp.inc"

void OffDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/off/IR/OffTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/off/IR/OffAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/off/IR/OffOps.cpp.inc"
      >();
}

Operation *OffDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}
