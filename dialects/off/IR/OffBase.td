//===- OffBase.td - the off dialect, its types and op base ----*- tablegen -*-===//
//
// The `off` dialect describes one training (or inference) step of a model at
// two levels: graph-level ops on static tensors, and memory-level ops that the
// planner inserts to move values between tiers (device, host, nvme).
//
//===----------------------------------------------------------------------===//

#ifndef OFF_BASE_TD
#define OFF_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Off_Dialect : Dialect {
  let name = "off";
  let cppNamespace = "::mlir::off";
  let summary = "Offload-aware dataflow graphs of LLM training steps";
  let description = [{
    Graph-level ops (`off.matmul`, `off.rms_norm`, `off.attention`, ...) work
    on ranked tensors with static shapes and have a kernel in each runtime
    backend. Memory-level ops (`off.offload`, `off.prefetch`, `off.wait`,
    `off.free`, `off.recompute`, `off.all_gather`, `off.reduce_scatter`) are
    inserted by the planner; `#off.tier<device|host|nvme>` names a memory tier.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
}

class Off_Op<string mnemonic, list<Trait> traits = []>
    : Op<Off_Dialect, mnemonic, traits>;

def Off_TokenType : TypeDef<Off_Dialect, "Token"> {
  let mnemonic = "token";
  let summary = "completion of an asynchronous transfer";
  let description = [{
    Produced by `off.offload` and `off.prefetch`, consumed by `off.wait`:
    the transfer's destination may be read only after a wait on its token.
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Off_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Off_IndexTensor : RankedTensorOf<[AnySignlessInteger]>;
def Off_AnyTensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;

#endif // OFF_BASE_TD
