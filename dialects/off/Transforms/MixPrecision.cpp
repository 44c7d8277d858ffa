//===- MixPrecision.cpp - bf16 compute, fp32 where it matters -------------===//
//
// off-mix-precision: rewrites @forward so that its matrix products and
// attention run in the compute type (bf16) on compute copies of the params,
// as torch.autocast("cpu", dtype=torch.bfloat16) casts a Llama forward. The
// contract is in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/off/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "off-mix-precision"

namespace mlir::off {
#define GEN_PASS_DEF_MIXPRECISIONPASS
#include "dialects/off/Transforms/Passes.h.inc"
} // namespace mlir::off

using namespace mlir;
using namespace mlir::off;

namespace {

/// How an op's float operands are typed.
enum class Policy {
  Compute, // f32 operands are cast to the compute type (matmul, attention)
  F32,     // narrower operands are cast to f32 (norms, softmax, losses)
  Promote, // operands of different float types are cast to the widest
};

Policy policyOf(Operation *op) {
  if (isa<MatmulOp, AttentionOp>(op))
    return Policy::Compute;
  if (isa<RmsNormOp, SoftmaxOp, CrossEntropyOp, ReduceMeanOp, ReduceSumOp>(op))
    return Policy::F32;
  return Policy::Promote;
}

FloatType floatElement(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type ? dyn_cast<FloatType>(type.getElementType()) : FloatType();
}

RankedTensorType withElement(Type type, Type element) {
  auto tensor = cast<RankedTensorType>(type);
  return RankedTensorType::get(tensor.getShape(), element, tensor.getEncoding());
}

class Rewriter {
public:
  Rewriter(func::FuncOp forward, FloatType compute)
      : forward(forward), compute(compute),
        f32(Float32Type::get(forward.getContext())) {}

  LogicalResult run();
  unsigned numCasts = 0, numCopies = 0;

private:
  /// `value` as `element`: itself, the param's compute copy, or a cast
  /// (one per value and type, inserted before `user`).
  Value convert(Value value, FloatType element, Operation *user);
  Value computeCopy(ParamOp master);
  LogicalResult retype(Operation *op);

  func::FuncOp forward;
  FloatType compute, f32;
  llvm::DenseMap<std::pair<Value, Type>, Value> casts;
  llvm::DenseMap<Operation *, Value> copies;
  llvm::StringSet<> names;
};

Value Rewriter::computeCopy(ParamOp master) {
  Value &copy = copies[master];
  if (copy)
    return copy;
  OpBuilder b(master->getContext());
  b.setInsertionPointAfter(master);
  // "<master>.bf16", or with a number when a param has that name already.
  std::string base =
      (master.getName() + (compute.isBF16() ? ".bf16" : ".f16")).str();
  std::string name = base;
  for (int i = 1; names.contains(name); ++i)
    name = base + "." + std::to_string(i);
  auto param = ParamOp::create(
      b, master.getLoc(), withElement(master.getType(), compute),
      b.getStringAttr(name), /*trainable=*/false,
      b.getStringAttr(master.getName()));
  names.insert(name);
  ++numCopies;
  copy = param;
  return copy;
}

Value Rewriter::convert(Value value, FloatType element, Operation *user) {
  FloatType from = floatElement(value);
  if (!from || from == element)
    return value;
  if (auto param = value.getDefiningOp<ParamOp>();
      param && element == compute && from.isF32() && !param.getCopyOf())
    return computeCopy(param);
  Value &cast = casts[{value, element}];
  if (!cast) {
    OpBuilder b(user);
    cast = CastOp::create(b, value.getLoc(),
                          withElement(value.getType(), element), value);
    ++numCasts;
  }
  return cast;
}

/// Gives the op's float results the types its (rewritten) operands imply.
LogicalResult Rewriter::retype(Operation *op) {
  if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
            op->getRegions(), types)))
      return op->emitError("off-mix-precision: cannot type '")
             << op->getName() << "' after casting its operands";
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
    return success();
  }
  // The others (reshape, broadcast_to, swiglu, softmax, ...) keep the
  // element type of their first float operand.
  FloatType element;
  for (Value operand : op->getOperands())
    if ((element = floatElement(operand)))
      break;
  if (!element)
    return success();
  for (OpResult result : op->getResults())
    if (floatElement(result))
      result.setType(withElement(result.getType(), element));
  return success();
}

LogicalResult Rewriter::run() {
  Block &body = forward.getBody().front();
  for (ParamOp param : body.getOps<ParamOp>())
    names.insert(param.getName());
  auto ops = llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
  for (Operation *op : ops) {
    if (isa<ParamOp, StateOp, ConstantOp, CastOp>(op))
      continue;
    if (op->getNumRegions() != 0)
      return op->emitError("off-mix-precision: ops with regions are not "
                           "supported");
    Policy policy = policyOf(op);
    FloatType widest;
    for (Value operand : op->getOperands())
      if (FloatType t = floatElement(operand))
        if (!widest || t.getWidth() > widest.getWidth())
          widest = t;
    if (!widest)
      continue;
    for (OpOperand &operand : op->getOpOperands()) {
      FloatType t = floatElement(operand.get());
      if (!t)
        continue;
      FloatType want = t;
      if (policy == Policy::Compute && t.isF32())
        want = compute;
      else if (policy == Policy::F32)
        want = f32;
      else if (policy == Policy::Promote)
        want = widest;
      operand.set(convert(operand.get(), want, op));
    }
    if (failed(retype(op)))
      return failure();
  }
  // The results keep the types @forward declares (f32 logits).
  Operation *ret = body.getTerminator();
  for (auto [operand, type] :
       llvm::zip(ret->getOpOperands(), forward.getFunctionType().getResults()))
    if (auto element = dyn_cast<FloatType>(getElementTypeOrSelf(type)))
      operand.set(convert(operand.get(), element, ret));
  return success();
}

struct MixPrecisionPass : off::impl::MixPrecisionPassBase<MixPrecisionPass> {
  using MixPrecisionPassBase::MixPrecisionPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    FloatType type;
    std::string name = computeType;
    if (name == "bf16")
      type = BFloat16Type::get(ctx);
    else if (name == "f16")
      type = Float16Type::get(ctx);
    else {
      module.emitError("off-mix-precision: invalid option: compute-type must "
                       "be bf16 or f16, got '")
          << name << "'";
      return signalPassFailure();
    }
    if (module.lookupSymbol("train_step")) {
      module.emitError("off-mix-precision: the module has @train_step; "
                       "run this pass before off-autodiff");
      return signalPassFailure();
    }
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || !forward.getBody().hasOneBlock()) {
      module.emitError("off-mix-precision: the module has no one-block "
                       "func.func @forward");
      return signalPassFailure();
    }
    for (ParamOp param : forward.getBody().getOps<ParamOp>())
      if (param.getCopyOf()) {
        param.emitError("off-mix-precision: @forward already has compute "
                        "copies; the pass runs once");
        return signalPassFailure();
      }
    Rewriter rewriter(forward, type);
    if (failed(rewriter.run()))
      return signalPassFailure();
    numCasts = rewriter.numCasts;
    numCopies = rewriter.numCopies;
  }
};

} // namespace
