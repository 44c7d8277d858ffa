//===- Autodiff.cpp - @forward to one training step ------------------------===//
//
// off-autodiff: replaces @forward (input ids -> logits) by @train_step (K
// micro-batches of ids and targets -> loss and grad norm) with the loss, the
// reverse-mode backward (rules in AutodiffRules.cpp), gradient accumulation,
// clipping and the AdamW step. The contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/AutodiffRules.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Debug.h"

#include <cstdio>

#define DEBUG_TYPE "off-autodiff"

namespace mlir::off {
#define GEN_PASS_DEF_AUTODIFFPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

/// The optimizer and accumulation settings, checked.
struct StepOptions {
  int64_t gradAccum;
  double lr, beta1, beta2, eps, weightDecay, clip;
  /// Gradients of compute copies in f32 (else in the copy's type).
  bool copyGradF32 = false;
};

bool isFloatTensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && isa<FloatType>(type.getElementType());
}

/// Builds @train_step from a checked @forward.
class StepBuilder {
public:
  StepBuilder(func::FuncOp forward, const StepOptions &options)
      : forward(forward), options(options) {}

  /// Checks the signature and finds params and the values that need a
  /// gradient. Errors are emitted at the offending op.
  LogicalResult analyse();
  /// Emits @train_step before @forward; returns the number of ops in the
  /// backward of one micro-batch.
  FailureOr<int64_t> build();
  unsigned numTrainedParams() const { return trained.size(); }

private:
  bool isActive(Value v) const { return active.contains(v); }
  Value microBatch(OpBuilder &b, Value input, int64_t k);
  void accumulate(OpBuilder &b, Value value, Value grad);
  LogicalResult emitBackward(OpBuilder &b, ArrayRef<Operation *> clones);

  func::FuncOp forward;
  const StepOptions &options;
  int64_t batch = 0, seq = 0;
  Type idsElement;
  Value logits;
  /// Trainable params that reach the logits, in declaration order.
  SmallVector<ParamOp> trained;
  /// The compute copy (off.param with copy_of) of a param, if it has one.
  llvm::DenseMap<Operation *, ParamOp> copyOf;
  /// Float values of @forward on a path from a trained param to the logits.
  llvm::DenseSet<Value> active;

  IRMapping sources; // params and constants of @forward -> @train_step
  /// The gradient accumulated so far for a value of the current micro-batch.
  llvm::DenseMap<Value, Value> adjoint;
  ReshapeCache reshapes;
};

LogicalResult StepBuilder::analyse() {
  if (!forward.getBody().hasOneBlock())
    return forward.emitError("off-autodiff: @forward must have one block");
  FunctionType type = forward.getFunctionType();
  auto ids = type.getNumInputs() == 1
                 ? dyn_cast<RankedTensorType>(type.getInput(0))
                 : RankedTensorType();
  auto out = type.getNumResults() == 1
                 ? dyn_cast<RankedTensorType>(type.getResult(0))
                 : RankedTensorType();
  if (!ids || ids.getRank() != 2 || !ids.hasStaticShape() ||
      !ids.getElementType().isSignlessInteger() || !out ||
      out.getRank() != 3 || !out.hasStaticShape() ||
      !out.getElementType().isF32() || out.getDimSize(0) != ids.getDimSize(0) ||
      out.getDimSize(1) != ids.getDimSize(1))
    return forward.emitError(
               "off-autodiff: @forward must be (tensor<BxTxi32>) -> "
               "tensor<BxTxVxf32> (input ids to f32 logits), not ")
           << type;
  batch = ids.getDimSize(0);
  seq = ids.getDimSize(1);
  idsElement = ids.getElementType();
  Block &body = forward.getBody().front();
  logits = body.getTerminator()->getOperand(0);

  // Values used inside a region escape the use-def walks below.
  for (Operation &op : body.without_terminator())
    if (op.getNumRegions() != 0)
      return op.emitError("off-autodiff: cannot differentiate '")
             << op.getName() << "': ops with regions are not supported";

  // Compute copies (off-mix-precision) stand for their master: the
  // gradient reaching a copy is the master's.
  llvm::StringMap<ParamOp> byName;
  for (ParamOp param : body.getOps<ParamOp>())
    if (!param.getCopyOf())
      byName[param.getName()] = param;
  for (ParamOp copy : body.getOps<ParamOp>()) {
    std::optional<StringRef> masterName = copy.getCopyOf();
    if (!masterName)
      continue;
    ParamOp master = byName.lookup(*masterName);
    if (!master)
      return copy.emitError("off-autodiff: compute copy '")
             << copy.getName() << "' names no param '" << *masterName << "'";
    if (master.getType().getShape() != copy.getType().getShape())
      return copy.emitError("off-autodiff: compute copy '")
             << copy.getName() << "' must have the shape of its master '"
             << *masterName << "'";
    if (copyOf.count(master))
      return copy.emitError("off-autodiff: param '")
             << *masterName << "' has two compute copies";
    copyOf[master] = copy;
  }
  auto masterOf = [&](ParamOp param) {
    std::optional<StringRef> name = param.getCopyOf();
    return name ? byName.lookup(*name) : param;
  };

  // Forward: values that depend on a trainable param.
  llvm::DenseSet<Value> varied;
  for (Operation &op : body.without_terminator()) {
    if (auto param = dyn_cast<ParamOp>(op)) {
      if (!masterOf(param).getTrainable())
        continue;
      if (!isFloatTensor(param))
        return param.emitError("off-autodiff: trainable param '")
               << param.getName() << "' must have a float type";
      varied.insert(param);
      continue;
    }
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return varied.contains(v); }))
      for (Value result : op.getResults())
        if (isFloatTensor(result))
          varied.insert(result);
  }
  // Backward: values the logits depend on, through float values only.
  llvm::DenseSet<Value> useful{logits};
  for (Operation &op : llvm::reverse(body.without_terminator()))
    if (llvm::any_of(op.getResults(),
                     [&](Value v) { return useful.contains(v); }))
      for (Value operand : op.getOperands())
        if (isFloatTensor(operand))
          useful.insert(operand);
  for (Value v : varied)
    if (useful.contains(v))
      active.insert(v);

  for (ParamOp param : body.getOps<ParamOp>()) {
    if (!param.getTrainable())
      continue;
    ParamOp copy = copyOf.lookup(param);
    if (isActive(param) || (copy && isActive(copy)))
      trained.push_back(param);
    else
      param.emitWarning("off-autodiff: trainable param '")
          << param.getName()
          << "' does not reach the logits: it gets no gradient and no "
             "optimizer step (as PyTorch skips params whose grad is None)";
  }
  if (trained.empty())
    return forward.emitError("off-autodiff: nothing to train: no trainable "
                             "off.param of @forward reaches the logits");
  return success();
}

/// Micro-batch k of a [K, B, T] input, as [B, T].
Value StepBuilder::microBatch(OpBuilder &b, Value input, int64_t k) {
  Location loc = input.getLoc();
  Value slice = input;
  if (options.gradAccum > 1) // with K = 1 the slice would be the identity
    slice = SliceOp::create(b, loc, input, /*axis=*/0, k, k + 1, /*step=*/1);
  return ReshapeOp::create(b, loc,
                           RankedTensorType::get({batch, seq}, idsElement),
                           slice);
}

/// Adds a gradient contribution: the first is kept, later ones are summed
/// in the order they arrive (reverse program order of the uses).
void StepBuilder::accumulate(OpBuilder &b, Value value, Value grad) {
  Value &sum = adjoint[value];
  sum = sum ? AddOp::create(b, grad.getLoc(), sum, grad).getResult() : grad;
}

/// The reverse sweep over one micro-batch's forward clones; `clones[i]` is
/// the clone of the i-th op of @forward (null for params and constants).
LogicalResult StepBuilder::emitBackward(OpBuilder &b,
                                        ArrayRef<Operation *> clones) {
  Block &body = forward.getBody().front();
  auto forwardOps = llvm::to_vector(llvm::make_pointer_range(
      body.without_terminator()));
  for (int64_t i = static_cast<int64_t>(forwardOps.size()) - 1; i >= 0; --i) {
    Operation *op = forwardOps[i], *clone = clones[i];
    if (!clone || !llvm::any_of(op->getResults(),
                                [&](Value v) { return isActive(v); }))
      continue;
    SmallVector<Value> resultGrads;
    for (Value result : clone->getResults())
      resultGrads.push_back(adjoint.lookup(result));
    if (llvm::all_of(resultGrads, [](Value v) { return !v; }))
      continue;
    SmallVector<bool> needed;
    for (Value operand : op->getOperands())
      needed.push_back(isActive(operand));
    FailureOr<SmallVector<Value>> grads =
        off::emitBackward(b, clone, resultGrads, needed, reshapes);
    if (failed(grads)) // the rule named the op
      return failure();
    for (auto [operand, grad] : llvm::zip(clone->getOperands(), *grads))
      if (grad)
        accumulate(b, operand, grad);
  }
  return success();
}

FailureOr<int64_t> StepBuilder::build() {
  MLIRContext *ctx = forward.getContext();
  Location loc = forward.getLoc();
  OpBuilder b(forward);
  auto scalarF32 = RankedTensorType::get({}, Float32Type::get(ctx));
  int64_t k = options.gradAccum;
  auto inputType = RankedTensorType::get({k, batch, seq}, idsElement);
  auto step = func::FuncOp::create(
      b, loc, "train_step",
      b.getFunctionType({inputType, inputType}, {scalarF32, scalarF32}));
  auto name = [&](StringRef n) {
    return b.getDictionaryAttr(b.getNamedAttr("off.name", b.getStringAttr(n)));
  };
  step.setArgAttrsAttr(b.getArrayAttr({name("input_ids"), name("targets")}));
  step.setResAttrsAttr(b.getArrayAttr({name("loss"), name("grad_norm")}));
  Block *entry = step.addEntryBlock();
  b.setInsertionPointToStart(entry);

  // Params and constants once, in declaration order.
  Block &body = forward.getBody().front();
  for (Operation &op : body.without_terminator())
    if (isa<ParamOp, ConstantOp>(op))
      b.clone(op, sources);
  auto dlossValue = DenseElementsAttr::get(
      scalarF32, b.getF32FloatAttr(1.0f / static_cast<float>(k)));
  Value dloss = ConstantOp::create(b, loc, cast<ElementsAttr>(dlossValue));

  Value lossSum;
  llvm::DenseMap<Operation *, Value> gradSum; // per trained param
  int64_t backwardOps = 0;
  for (int64_t mb = 0; mb < k; ++mb) {
    Value ids = microBatch(b, step.getArgument(0), mb);
    Value targets = microBatch(b, step.getArgument(1), mb);
    IRMapping map = sources;
    map.map(forward.getArgument(0), ids);
    SmallVector<Operation *> clones;
    for (Operation &op : body.without_terminator())
      clones.push_back(isa<ParamOp, ConstantOp>(op) ? nullptr
                                                    : b.clone(op, map));
    Value stepLogits = map.lookup(logits);
    Location lossLoc = body.getTerminator()->getLoc();
    Value loss = CrossEntropyOp::create(b, lossLoc, stepLogits, targets);
    lossSum = lossSum ? AddOp::create(b, lossLoc, lossSum, loss).getResult()
                      : loss;

    size_t before = entry->getOperations().size();
    adjoint.clear();
    reshapes.clear();
    accumulate(b, stepLogits,
               CrossEntropyGradOp::create(b, lossLoc, stepLogits, targets,
                                          dloss));
    if (failed(emitBackward(b, clones)))
      return failure();
    if (mb == 0)
      backwardOps = entry->getOperations().size() - before;

    // g = g0 + g1 + ..., as .grad accumulates over backward() calls.
    for (ParamOp param : trained) {
      Value grad = adjoint.lookup(sources.lookup(param.getResult()));
      if (ParamOp copy = copyOf.lookup(param))
        if (Value viaCopy = adjoint.lookup(sources.lookup(copy.getResult()))) {
          // Through the copy: in its type, or f32 as the option asks (and
          // always f32 when the master is read directly too).
          if (options.copyGradF32 || grad)
            viaCopy = CastOp::create(b, param.getLoc(), param.getType(), viaCopy);
          grad = grad ? AddOp::create(b, param.getLoc(), grad, viaCopy).getResult()
                      : viaCopy;
        }
      if (!grad) // cannot happen for an active param; guard the invariant
        return param.emitError("off-autodiff: internal error: no gradient "
                               "reached trainable param '")
               << param.getName() << "'";
      Value &sum = gradSum[param];
      sum = sum ? AddOp::create(b, param.getLoc(), sum, grad).getResult()
                : grad;
    }
  }
  Value loss = lossSum;
  if (k > 1) {
    auto count = DenseElementsAttr::get(
        scalarF32, b.getF32FloatAttr(static_cast<float>(k)));
    loss = DivOp::create(b, loc, lossSum,
                         ConstantOp::create(b, loc, cast<ElementsAttr>(count)));
  }

  SmallVector<Value> grads;
  for (ParamOp param : trained)
    grads.push_back(gradSum.lookup(param));
  Value norm = GlobalNormOp::create(b, loc, scalarF32, grads);
  auto f64 = [&](double v) { return b.getF64FloatAttr(v); };
  FloatAttr maxNorm = options.clip > 0.0 ? f64(options.clip) : FloatAttr();
  for (auto [param, grad] : llvm::zip(trained, grads)) {
    Value weight = sources.lookup(param.getResult());
    Type type = weight.getType();
    Location ploc = param.getLoc();
    Value m = StateOp::create(b, ploc, type,
                              b.getStringAttr(param.getName() + ".exp_avg"));
    Value v = StateOp::create(b, ploc, type,
                              b.getStringAttr(param.getName() + ".exp_avg_sq"));
    Value copy;
    Type copyType;
    if (ParamOp copyOp = copyOf.lookup(param)) {
      copy = sources.lookup(copyOp.getResult());
      copyType = copy.getType();
    }
    AdamStepOp::create(b, ploc, type, type, type, copyType, weight, grad, m, v,
                       norm, copy, f64(options.lr), f64(options.beta1),
                       f64(options.beta2), f64(options.eps),
                       f64(options.weightDecay), maxNorm);
  }
  func::ReturnOp::create(b, loc, ValueRange{loss, norm});
  return backwardOps;
}

struct AutodiffPass : off::impl::AutodiffPassBase<AutodiffPass> {
  using AutodiffPassBase::AutodiffPassBase;

  LogicalResult checkOptions(ModuleOp module) {
    // Options are read as plain values: a pass option does not print itself.
    int64_t accum = gradAccum;
    double lrValue = lr, b1 = beta1, b2 = beta2, epsValue = eps;
    double decay = weightDecay, maxNorm = clip;
    auto bad = [&](StringRef what, double got) {
      char text[32];
      std::snprintf(text, sizeof(text), "%g", got);
      return module.emitError("off-autodiff: invalid option: ")
             << what << ", got " << std::string(text);
    };
    if (accum < 1)
      return module.emitError("off-autodiff: invalid option: grad-accum "
                              "must be >= 1, got ")
             << accum;
    if (!(lrValue > 0.0))
      return bad("lr must be > 0", lrValue);
    if (!(b1 >= 0.0 && b1 < 1.0))
      return bad("beta1 must be in [0, 1)", b1);
    if (!(b2 >= 0.0 && b2 < 1.0))
      return bad("beta2 must be in [0, 1)", b2);
    if (!(epsValue > 0.0))
      return bad("eps must be > 0", epsValue);
    if (!(decay >= 0.0))
      return bad("weight-decay must be >= 0", decay);
    if (!(maxNorm >= 0.0))
      return bad("clip must be >= 0 (0 = no clipping)", maxNorm);
    std::string copyGrad = copyGradType;
    if (copyGrad != "copy" && copyGrad != "f32")
      return module.emitError("off-autodiff: invalid option: "
                              "copy-grad-type must be copy or f32, got '")
             << copyGrad << "'";
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(checkOptions(module)))
      return signalPassFailure();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError("off-autodiff: the module has no func.func @forward");
      return signalPassFailure();
    }
    if (module.lookupSymbol("train_step")) {
      module.emitError("off-autodiff: the module already has @train_step");
      return signalPassFailure();
    }
    StepOptions options{gradAccum, lr, beta1, beta2, eps, weightDecay, clip,
                        std::string(copyGradType) == "f32"};
    StepBuilder builder(forward, options);
    if (failed(builder.analyse()))
      return signalPassFailure();
    FailureOr<int64_t> backwardOps = builder.build();
    if (failed(backwardOps)) {
      // Leave the module as it was: drop the half-built step.
      if (auto step = module.lookupSymbol<func::FuncOp>("train_step"))
        step.erase();
      return signalPassFailure();
    }
    forward.erase();
    numGradientOps = *backwardOps;
    numTrainedParams = builder.numTrainedParams();
  }
};

} // namespace
