//===- OffAttrs.td - attributes of the off dialect ------------*- tablegen -*-===//

#ifndef OFF_ATTRS_TD
#define OFF_ATTRS_TD

include "OffBase.td"
include "mlir/IR/EnumAttr.td"

// Ordered fastest to slowest: offload goes down this list, prefetch up it.
def Off_TierEnum : I32EnumAttr<"Tier", "memory tier", [
    I32EnumAttrCase<"device", 0>,
    I32EnumAttrCase<"host", 1>,
    I32EnumAttrCase<"nvme", 2>
  ]> {
  let cppNamespace = "::mlir::off";
  let genSpecializedAttr = 0;
}

def Off_TierAttr : EnumAttr<Off_Dialect, Off_TierEnum, "tier"> {
  let summary = "a memory tier: device (GPU HBM), host (pinned RAM) or nvme";
  let assemblyFormat = "`<` $value `>`";
}

#endif // OFF_ATTRS_TD
