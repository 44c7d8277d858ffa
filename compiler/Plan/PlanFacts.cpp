//===- PlanFacts.cpp - what plan.bin says about params and kernels --------===//

#include "compiler/Plan/PlanFacts.h"

#include "runtime/cpu/CpuWorkspace.h"
#include "runtime/plan/PlanKernel.h"
#include "runtime/plan/PlanVocabulary.h"

#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::off;

namespace {

// The same value in another shape, dtype or tier.
bool isView(Operation *op) {
  return isa<ReshapeOp, TransposeOp, CastOp, BroadcastToOp, OffloadOp, PrefetchOp>(op);
}

} // namespace

plan::InitKind mlir::off::paramInitKind(ParamOp param) {
  bool normWeight = false, multiplied = false, added = false, other = false;
  llvm::SmallVector<Value> values{param.getResult()};
  while (!values.empty()) {
    Value value = values.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isView(user)) {
        values.append(user->result_begin(), user->result_end());
      } else if (isa<RmsNormOp, RmsNormGradOp>(user) && use.getOperandNumber() == 1) {
        normWeight = true;
      } else if (isa<MulOp>(user)) {
        multiplied = true;
      } else if (isa<AddOp>(user)) {
        added = true;
      } else if (!isa<AdamStepOp>(user)) {
        other = true;
      }
    }
  }
  if (normWeight || (multiplied && !added && !other))
    return plan::INIT_ONES;
  if (added && !multiplied && !other)
    return plan::INIT_ZEROS;
  return plan::INIT_NORMAL;
}

void mlir::off::addKernelAttrs(Operation *op, plan::Kernel &kernel) {
  for (NamedAttribute named : op->getAttrDictionary()) {
    if (named.getName().strref().starts_with("off."))
      continue; // the IR's own bookkeeping (stream, offsets, workspace)
    plan::Attr attr;
    Attribute value = named.getValue();
    if (auto b = dyn_cast<BoolAttr>(value))
      attr.set_b(b.getValue());
    else if (auto i = dyn_cast<IntegerAttr>(value))
      attr.set_i(i.getInt());
    else if (auto f = dyn_cast<FloatAttr>(value))
      attr.set_f(f.getValueAsDouble());
    else if (isa<UnitAttr>(value))
      attr.set_b(true);
    else if (auto s = dyn_cast<StringAttr>(value))
      attr.set_s(s.str());
    else if (auto ints = dyn_cast<DenseI64ArrayAttr>(value))
      for (int64_t v : ints.asArrayRef())
        attr.mutable_ints()->add_values(v);
    else
      continue;
    (*kernel.mutable_attrs())[named.getName().str()] = attr;
  }
}

std::optional<plan::DType> mlir::off::toPlanDType(Type type) {
  if (type.isF32()) return plan::F32;
  if (type.isBF16()) return plan::BF16;
  if (type.isF16()) return plan::F16;
  if (type.isF64()) return plan::F64;
  if (type.isInteger(32)) return plan::I32;
  if (type.isInteger(64)) return plan::I64;
  return std::nullopt;
}

uint64_t mlir::off::opWorkspaceBytes(Operation *op) {
  auto args = [](auto values, std::vector<::off::backend::TensorArg> &out) {
    for (Value value : values) {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      std::optional<plan::DType> dtype =
          type ? toPlanDType(type.getElementType()) : std::nullopt;
      std::optional<::off::DType> runtimeType = dtype ? plan::toDType(*dtype) : std::nullopt;
      if (!type || !type.hasStaticShape() || !runtimeType)
        return false;
      ::off::backend::TensorArg arg;
      arg.shape.assign(type.getShape().begin(), type.getShape().end());
      arg.dtype = *runtimeType;
      out.push_back(std::move(arg));
    }
    return true;
  };
  std::vector<::off::backend::TensorArg> inputs, outputs;
  if (!args(op->getOperands(), inputs) || !args(op->getResults(), outputs))
    return 0;
  plan::Kernel kernel;
  addKernelAttrs(op, kernel);
  ::off::backend::KernelAttrs attrs = plan::kernelAttrs(kernel);
  std::string name = op->getName().stripDialect().str();
  return ::off::cpu::cpuWorkspaceBytes({name, inputs, outputs, attrs});
}
