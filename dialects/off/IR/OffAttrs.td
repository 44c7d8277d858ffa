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

// The streams of a schedule: each executing op runs on one, in block order.
def Off_StreamEnum : I32EnumAttr<"Stream", "execution stream", [
    I32EnumAttrCase<"compute", 0>,
    I32EnumAttrCase<"h2d", 1>,
    I32EnumAttrCase<"d2h", 2>,
    I32EnumAttrCase<"nvme_read", 3>,
    I32EnumAttrCase<"nvme_write", 4>,
    I32EnumAttrCase<"host_optimizer", 5>
  ]> {
  let cppNamespace = "::mlir::off";
  let genSpecializedAttr = 0;
}

def Off_StreamAttr : EnumAttr<Off_Dialect, Off_StreamEnum, "stream"> {
  let summary = "an execution stream: compute, h2d, d2h, nvme_read, nvme_write "
                "or host_optimizer";
  let description = [{
    Set by `off-schedule` as the discardable attribute `off.stream` of every
    op that executes. Ops run on their stream in block order; streams meet
    only at tokens (`off.wait` of a transfer's or an `off.record`'s token).
  }];
  let assemblyFormat = "`<` $value `>`";
}

#endif // OFF_ATTRS_TD
