//===- AssignBuffers.cpp - arena offsets from lifetimes and streams -------===//
//
// off-assign-buffers: one arena per tier; a buffer lives from its first
// write to its last access, and two buffers share bytes only when the
// streams' order (HappensBefore) puts one entirely before the other. The
// packing is compiler/Plan/BufferAssignment. The contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "compiler/Plan/BufferAssignment.h"
#include "compiler/Plan/PlanFacts.h"
#include "dialects/off/Transforms/MemoryAnalysis.h"
#include "dialects/off/Transforms/Passes.h"
#include "runtime/common/Tier.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>

#define DEBUG_TYPE "off-assign-buffers"

namespace mlir::off {
#define GEN_PASS_DEF_ASSIGNBUFFERSPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

constexpr unsigned kStreams = HappensBefore::kStreams;

uint64_t byteSize(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  unsigned bits = type.getElementType().getIntOrFloatBitWidth();
  return uint64_t(type.getNumElements()) * ((bits + 7) / 8);
}

/// One buffer: a storage root and what touches it.
struct Buffer {
  Value root;
  Tier tier;
  uint64_t size = 0;
  bool persistent = false; // holds data across steps (or is an input)
  bool output = false;     // read after the step: lives to its end
  int64_t first = 0, last = 0; // times (see Assigner::time)
  Operation *writer = nullptr; // the op that first writes it
  Operation *workspaceOf = nullptr; // a kernel's workspace (no root value)
  std::array<uint32_t, kStreams> lastOnStream{}; // stream position, 0: none
};

/// What a tier's peak holds, for the over-budget message.
std::string contents(const std::vector<Buffer> &buffers, Tier tier) {
  std::map<std::string, uint64_t> bytes;
  for (const Buffer &b : buffers) {
    if (b.tier != tier)
      continue;
    Operation *def = b.root ? b.root.getDefiningOp() : nullptr;
    const char *what = b.workspaceOf         ? "kernel workspace"
                       : !def                ? "inputs"
                       : isa<ParamOp>(def)    ? "params"
                       : isa<StateOp>(def)    ? "optimizer state"
                       : isa<ConstantOp>(def) ? "constants"
                       : b.output             ? "outputs"
                                              : "activations, gradients and copies (their sum over the step)";
    bytes[what] += b.size;
  }
  std::string text;
  for (auto &[what, size] : bytes)
    text += (text.empty() ? "" : ", ") + what + " " + std::to_string(size);
  return text;
}

struct AssignBuffersPass : mlir::off::impl::AssignBuffersPassBase<AssignBuffersPass> {
  using AssignBuffersPassBase::AssignBuffersPassBase;

  void runOnOperation() override;
};

void AssignBuffersPass::runOnOperation() {
  func::FuncOp step = getOperation();
  if (step.isExternal())
    return;
  if (alignment == 0 || (alignment & (alignment - 1))) {
    step.emitError("off-assign-buffers: alignment must be a power of two");
    return signalPassFailure();
  }
  Block &block = step.getBody().front();
  HappensBefore order(block);

  // Times: block positions, where a view (a reshape: no instruction of its
  // own) counts at the next op that runs.
  llvm::DenseMap<Operation *, int64_t> time;
  int64_t end = 0;
  {
    int64_t position = int64_t(block.getOperations().size());
    end = position;
    int64_t next = position;
    for (Operation &op : llvm::reverse(block)) {
      --position;
      if (!isa<ReshapeOp, ParamOp, StateOp, ConstantOp>(op))
        next = position;
      time[&op] = isa<ReshapeOp>(op) ? next : position;
    }
  }

  llvm::MapVector<Value, Buffer> buffers;
  auto add = [&](Value root, bool persistent) {
    Buffer &b = buffers[root];
    b.root = root;
    b.tier = getTier(root.getType());
    b.size = byteSize(root);
    b.persistent = persistent;
    b.first = persistent ? 0 : time.lookup(root.getDefiningOp());
    b.last = b.first;
    b.writer = root.getDefiningOp();
  };
  for (BlockArgument arg : block.getArguments())
    add(arg, true);
  for (Operation &op : block)
    for (Value result : op.getResults())
      if (isa<RankedTensorType>(result.getType()) && storageRoot(result) == result)
        add(result, isa<ParamOp, StateOp, ConstantOp>(op));
  for (Value returned : block.getTerminator()->getOperands())
    if (auto it = buffers.find(storageRoot(returned)); it != buffers.end()) {
      it->second.output = true;
      it->second.last = end;
    }
  // Accesses: every op that reads or writes a tensor (frees only mark it dead).
  for (Operation &op : block) {
    if (isa<FreeOp>(op) || op.hasTrait<mlir::OpTrait::IsTerminator>())
      continue;
    auto touch = [&](Value v) {
      if (!isa<RankedTensorType>(v.getType()))
        return;
      auto it = buffers.find(storageRoot(v));
      if (it == buffers.end())
        return;
      Buffer &b = it->second;
      b.last = std::max(b.last, time.lookup(&op));
      unsigned s = static_cast<unsigned>(getStream(&op));
      b.lastOnStream[s] = std::max(b.lastOnStream[s], order.position(&op));
    };
    for (Value operand : op.getOperands())
      touch(operand);
    for (Value result : op.getResults())
      touch(result);
  }

  // One arena per tier.
  MLIRContext *context = step.getContext();
  llvm::DenseMap<Value, uint64_t> offsets;
  SmallVector<NamedAttribute> sizes;
  std::vector<Buffer> all;
  for (auto &entry : buffers)
    all.push_back(entry.second);
  // Kernel workspace: scratch for one kernel call, in the tier of its
  // operands, sized by the runtime's rule (opWorkspaceBytes); alive only
  // while that op runs.
  for (Operation &op : block) {
    if (!isa_and_nonnull<OffDialect>(op.getDialect()) ||
        isa<ParamOp, StateOp, ConstantOp, ReshapeOp, FreeOp, RecordOp, WaitOp, OffloadOp,
            PrefetchOp>(op) ||
        op.getNumOperands() + op.getNumResults() == 0)
      continue;
    uint64_t bytes = opWorkspaceBytes(&op);
    if (!bytes)
      continue;
    Buffer b;
    Value first = op.getNumOperands() ? op.getOperand(0) : op.getResult(0);
    b.tier = getTier(first.getType());
    b.size = bytes;
    b.first = b.last = time.lookup(&op);
    b.writer = b.workspaceOf = &op;
    b.lastOnStream[static_cast<unsigned>(getStream(&op))] = order.position(&op);
    all.push_back(b);
  }
  llvm::DenseMap<Operation *, uint64_t> workspaceOffsets;
  uint64_t budgets[3] = {deviceBudget, hostBudget, nvmeBudget};
  for (Tier tier : {Tier::device, Tier::host, Tier::nvme}) {
    std::vector<const Buffer *> members;
    std::vector<BufferRequest> requests;
    for (const Buffer &b : all) {
      if (b.tier != tier)
        continue;
      members.push_back(&b);
      BufferRequest request{b.size, b.first, b.persistent ? end : b.last};
      if (!b.persistent && b.writer) {
        request.stream = int(getStream(b.writer));
        const HappensBefore::Clock &clock = order.clock(b.writer);
        std::copy(clock.begin(), clock.end(), request.writerClock.begin());
        std::copy(b.lastOnStream.begin(), b.lastOnStream.end(), request.lastOnStream.begin());
      }
      requests.push_back(request);
    }
    if (members.empty() && tier != Tier::device)
      continue;
    BufferLayout layout = assignBuffers(requests, alignment);
    // NVMe is read and written in whole O_DIRECT blocks: its files hold the
    // arena rounded up to one, and the peak counts what the files take.
    if (tier == Tier::nvme)
      layout.arenaSize = llvm::alignTo(layout.arenaSize, ::off::kNvmeBlockBytes);
    for (size_t i = 0; i < members.size(); ++i) {
      if (members[i]->workspaceOf)
        workspaceOffsets[members[i]->workspaceOf] = layout.offsets[i];
      else
        offsets[members[i]->root] = layout.offsets[i];
    }
    sizes.push_back(NamedAttribute(StringAttr::get(context, stringifyTier(tier)),
                                   IntegerAttr::get(IntegerType::get(context, 64),
                                                    layout.arenaSize)));
    uint64_t budget = budgets[static_cast<unsigned>(tier)];
    if (budget && layout.arenaSize > budget) {
      step.emitError(llvm::formatv(
          "off-assign-buffers: the {0} arena needs {1} bytes, over its budget of "
          "{2} by {3}; it holds {4}",
          stringifyTier(tier), layout.arenaSize, budget, layout.arenaSize - budget,
          contents(all, tier)));
      return signalPassFailure();
    }
  }

  auto offsetsOf = [&](ValueRange values) {
    SmallVector<int64_t> list;
    for (Value v : values)
      if (isa<RankedTensorType>(v.getType()))
        list.push_back(int64_t(offsets.lookup(storageRoot(v))));
    return list;
  };
  for (Operation &op : block)
    if (llvm::any_of(op.getResultTypes(), [](Type t) { return isa<RankedTensorType>(t); }))
      op.setAttr("off.offsets", DenseI64ArrayAttr::get(context, offsetsOf(op.getResults())));
  for (auto &[op, offset] : workspaceOffsets)
    op->setAttr("off.workspace",
                DenseI64ArrayAttr::get(context, {int64_t(offset), int64_t(opWorkspaceBytes(op))}));
  step->setAttr("off.arg_offsets",
                DenseI64ArrayAttr::get(context, offsetsOf(block.getArguments())));
  step->setAttr("off.arena_sizes", DictionaryAttr::get(context, sizes));
}

} // namespace
