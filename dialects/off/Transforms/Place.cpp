//===- Place.cpp - the tier of params, states, gradients, activations -----===//
//
// off-place: applies CLASS_OR_PATTERN=TIER rules and records each decision
// as `off.home` on the defining op. The contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/MemoryAnalysis.h"
#include "dialects/off/Transforms/Passes.h"
#include "dialects/off/Transforms/StepStructure.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/GlobPattern.h"

#define DEBUG_TYPE "off-place"

namespace mlir::off {
#define GEN_PASS_DEF_PLACEPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

enum class TensorClass { Params, Grads, Optimizer, Activations, Pattern };

struct Rule {
  std::string text;
  TensorClass cls;
  std::optional<llvm::GlobPattern> pattern;
  /// A pattern ending in ".grad" names gradients ("<param name>.grad") and
  /// only them; other patterns never match a gradient, so that
  /// `model.layers.*=nvme` keeps meaning the params and states it always
  /// meant.
  bool gradPattern = false;
  Tier tier;
  bool matched = false;
};

FailureOr<Rule> parseRule(Operation *where, llvm::StringRef text) {
  auto [lhs, rhs] = text.rsplit('=');
  if (rhs.empty() || lhs.empty() || !text.contains('='))
    return where->emitError("off-place: rule '")
           << text << "' is not CLASS_OR_PATTERN=TIER";
  std::optional<Tier> tier = symbolizeTier(rhs.trim());
  if (!tier)
    return where->emitError("off-place: rule '")
           << text << "': tier '" << rhs << "' is not device, host or nvme";
  Rule rule{text.str(), TensorClass::Pattern, std::nullopt, false, *tier};
  lhs = lhs.trim();
  if (lhs == "params")
    rule.cls = TensorClass::Params;
  else if (lhs == "grads")
    rule.cls = TensorClass::Grads;
  else if (lhs == "optimizer")
    rule.cls = TensorClass::Optimizer;
  else if (lhs == "activations")
    rule.cls = TensorClass::Activations;
  else {
    // {a,b} alternatives: offc --strategy auto names groups of layers so.
    llvm::Expected<llvm::GlobPattern> glob = llvm::GlobPattern::create(lhs, /*MaxSubPatterns=*/1024);
    if (!glob)
      return where->emitError("off-place: rule '")
             << text << "': " << llvm::toString(glob.takeError());
    rule.pattern = std::move(*glob);
    rule.gradPattern = lhs.ends_with(".grad");
  }
  return rule;
}

/// The gradients AdamW reads and, with K micro-batches, the partial sums
/// they are accumulated from (g = (g0 + g1) + g2: the left operands), each
/// with the name patterns see: "<param name>.grad".
llvm::MapVector<Value, std::string> gradientValues(Block &block, int64_t microBatches) {
  llvm::MapVector<Value, std::string> grads;
  for (Operation &op : block) {
    auto adam = dyn_cast<AdamStepOp>(op);
    if (!adam)
      continue;
    auto param = adam.getParam().getDefiningOp<ParamOp>();
    std::string name = param ? param.getName().str() + ".grad" : std::string();
    Value grad = adam.getGrad();
    grads.insert({grad, name});
    for (int64_t k = 1; k < microBatches; ++k) {
      auto sum = grad.getDefiningOp<AddOp>();
      if (!sum)
        break;
      grad = sum.getLhs();
      grads.insert({grad, name});
    }
  }
  return grads;
}

/// K: the leading dimension of the step's first input ([K, B, T] ids).
int64_t microBatches(func::FuncOp step) {
  if (step.getNumArguments() == 0)
    return 1;
  auto type = dyn_cast<RankedTensorType>(step.getArgument(0).getType());
  return type && type.getRank() == 3 ? type.getDimSize(0) : 1;
}

struct PlacePass : off::impl::PlacePassBase<PlacePass> {
  using PlacePassBase::PlacePassBase;

  void runOnOperation() override {
    func::FuncOp step = getOperation();
    if (step.isExternal())
      return;
    std::vector<Rule> parsed;
    for (const std::string &text : rules) {
      FailureOr<Rule> rule = parseRule(step, text);
      if (failed(rule))
        return signalPassFailure();
      parsed.push_back(std::move(*rule));
    }
    if (parsed.empty())
      return;
    Block &block = step.getBody().front();
    StepStructure structure(step);
    llvm::MapVector<Value, std::string> grads = gradientValues(block, microBatches(step));
    MLIRContext *context = step.getContext();

    auto decide = [&](Operation *op, TensorClass cls, llvm::StringRef name) {
      std::optional<Tier> tier;
      for (Rule &rule : parsed) {
        bool hit = rule.pattern ? !name.empty() &&
                                      rule.gradPattern == (cls == TensorClass::Grads) &&
                                      rule.pattern->match(name)
                                : rule.cls == cls;
        if (hit) {
          tier = rule.tier;
          rule.matched = true;
        }
      }
      if (!tier)
        return;
      op->removeAttr(kHomeAttr);
      if (*tier != Tier::device) {
        op->setAttr(kHomeAttr, TierAttr::get(context, *tier));
        ++numPlaced;
      }
    };
    for (Operation &op : block) {
      if (auto param = dyn_cast<ParamOp>(op)) {
        decide(param, TensorClass::Params, param.getName());
      } else if (auto state = dyn_cast<StateOp>(op)) {
        decide(state, TensorClass::Optimizer, state.getName());
      } else if (op.getNumResults() > 0 &&
                 llvm::none_of(op.getUsers(), [](Operation *user) {
                   return user->hasTrait<mlir::OpTrait::IsTerminator>();
                 })) { // outputs stay on the device, where the runtime reads them
        std::string gradName;
        bool isGrad = llvm::any_of(op.getResults(), [&](Value v) {
          auto it = grads.find(v);
          if (it != grads.end())
            gradName = it->second;
          return it != grads.end();
        });
        // A view of an input, param or constant is kept by its source anyway.
        bool saved = llvm::any_of(op.getResults(), [&](Value v) {
          Operation *root = storageRoot(v).getDefiningOp();
          return structure.isSaved(v) && root && !isa<ParamOp, StateOp, ConstantOp>(root);
        });
        if (isGrad)
          decide(&op, TensorClass::Grads, gradName);
        else if (saved)
          decide(&op, TensorClass::Activations, "");
      }
    }
    for (const Rule &rule : parsed)
      if (rule.pattern && !rule.matched) {
        step.emitError("off-place: --place '")
            << rule.text
            << (rule.gradPattern ? "' matches no gradient" : "' matches no param or optimizer state");
        return signalPassFailure();
      }
  }
};

} // namespace
