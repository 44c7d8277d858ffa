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
    inserted by the planner; `#off.tier<device|host|nvme>` names a memory tier
    and, as the encoding of a tensor type (`tensor<64x64xf32, #off.tier<host>>`),
    where a value lives. A tensor without a tier encoding is on the device.
    `#off.stream<...>` (the `off.stream` attribute) names the stream an op
    runs on once the plan is scheduled.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let hasOperationAttrVerify = 1;
}

// Every tensor the op reads or writes is on the device tier: the rule for
// kernels (MemoryLevel.cpp). Ops that move values between tiers, the sources
// (param, state) and adam_step, which runs where its tensors are, opt out by
// deriving from Off_AnyTierOp.
def Off_DeviceTensors : NativeOpTrait<"DeviceTensors"> {
  let cppNamespace = "::mlir::off::OpTrait";
}

class Off_Op<string mnemonic, list<Trait> traits = []>
    : Op<Off_Dialect, mnemonic, !listconcat([Off_DeviceTensors], traits)>;

class Off_AnyTierOp<string mnemonic, list<Trait> traits = []>
    : Op<Off_Dialect, mnemonic, traits>;

def Off_TokenType : TypeDef<Off_Dialect, "Token"> {
  let mnemonic = "token";
  let summary = "an event: the completion of a transfer or a point in a stream";
  let description = [{
    Produced by `off.offload` and `off.prefetch` (the transfer has completed)
    and by `off.record` (every op before it on its stream has completed),
    consumed by `off.wait`: a transfer's destination may be read only after
    a wait on its token, and once scheduled, an op is ordered after another
    stream's ops only through such a wait.
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Off_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Off_IndexTensor : RankedTensorOf<[AnySignlessInteger]>;
def Off_AnyTensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;

#endif // OFF_BASE_TD
