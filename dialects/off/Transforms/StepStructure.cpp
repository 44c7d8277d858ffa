//===- StepStructure.cpp - phases, layers and segments of a step ----------===//

#include "dialects/off/Transforms/StepStructure.h"
#include "runtime/common/LayerName.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::off;

llvm::StringRef mlir::off::layerOfName(llvm::StringRef name) {
  std::string_view layer = ::off::layerOfName(std::string_view(name.data(), name.size()));
  return llvm::StringRef(layer.data(), layer.size());
}

static bool isSource(Operation *op) {
  return isa<ParamOp, StateOp, ConstantOp>(op);
}

/// The group of the params `op` reads, or empty.
static std::string paramGroup(Operation *op) {
  for (Value operand : op->getOperands()) {
    Value root = operand;
    while (auto reshape = root.getDefiningOp<ReshapeOp>())
      root = reshape.getInput();
    if (auto param = root.getDefiningOp<ParamOp>()) {
      llvm::StringRef layer = layerOfName(param.getName());
      return (layer.empty() ? param.getName() : layer).str();
    }
  }
  return "";
}

StepStructure::StepStructure(func::FuncOp step) {
  Block &block = step.getBody().front();
  // Forward: the ancestors of every cross_entropy.
  llvm::SetVector<Operation *> forward;
  llvm::SmallVector<Operation *> work;
  for (Operation &op : block)
    if (isa<CrossEntropyOp>(op))
      work.push_back(&op);
  training = !work.empty();
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!forward.insert(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        work.push_back(def);
  }

  int position = 0, segment = -1, layers = 0;
  Phase lastPhase = Phase::Source;
  std::string lastGroup;
  for (Operation &op : block) {
    positions[&op] = position++;
    OpInfo &entry = info[&op];
    if (isSource(&op)) {
      entry.phase = Phase::Source;
      continue;
    }
    if (isa<AdamStepOp, GlobalNormOp, NormCombineOp>(op))
      entry.phase = Phase::Update;
    else if (!training || forward.contains(&op))
      entry.phase = Phase::Forward;
    else
      entry.phase = Phase::Backward;
    std::string group = paramGroup(&op);
    if (group.empty() && entry.phase == lastPhase)
      group = lastGroup;
    if (segment < 0 || entry.phase != lastPhase || group != lastGroup) {
      ++segment;
      if (!layerOfName(group).empty()) {
        ++layers;
        layerStarts.push_back(&op);
      }
    }
    entry.group = group;
    entry.segment = segment;
    entry.layerIndex = layers;
    lastPhase = entry.phase;
    lastGroup = group;
  }
}

Phase StepStructure::phase(Operation *op) const {
  auto it = info.find(op);
  return it == info.end() ? Phase::Source : it->second.phase;
}

llvm::StringRef StepStructure::group(Operation *op) const {
  auto it = info.find(op);
  return it == info.end() ? llvm::StringRef() : llvm::StringRef(it->second.group);
}

int StepStructure::segment(Operation *op) const {
  auto it = info.find(op);
  return it == info.end() ? -1 : it->second.segment;
}

int StepStructure::layerIndex(Operation *op) const {
  auto it = info.find(op);
  return it == info.end() ? 0 : it->second.layerIndex;
}

Operation *StepStructure::layerSegmentStart(int index) const {
  if (index < 1 || index > int(layerStarts.size()))
    return nullptr;
  return layerStarts[index - 1];
}

bool StepStructure::isSaved(Value value) const {
  Operation *def = value.getDefiningOp();
  if (!def || phase(def) != Phase::Forward)
    return false;
  for (Operation *user : value.getUsers())
    if (phase(user) == Phase::Backward)
      return true;
  return false;
}
