//===- ModelStats.cpp - size and cost figures of a graph-level module -----===//

#include "compiler/Import/ModelStats.h"

#include "dialects/off/IR/OffDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <optional>
#include <set>

using namespace mlir;
using namespace mlir::off;

namespace {

uint64_t mul(uint64_t a, uint64_t b) { return llvm::SaturatingMultiply(a, b); }
uint64_t add(uint64_t a, uint64_t b) { return llvm::SaturatingAdd(a, b); }

uint64_t elements(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.hasStaticShape() ? static_cast<uint64_t>(type.getNumElements())
                                       : 0;
}

uint64_t product(ArrayRef<int64_t> dims) {
  uint64_t result = 1;
  for (int64_t dim : dims)
    result = mul(result, static_cast<uint64_t>(dim));
  return result;
}

uint64_t matmulFlops(MatmulOp op) {
  auto lhs = op.getLhs().getType();
  auto result = op.getResult().getType();
  int64_t k = lhs.getDimSize(lhs.getRank() - (op.getTransposeLhs() ? 2 : 1));
  // The result is [batch..., M, N]: its element count already includes the
  // broadcast batch; each element is a K-long dot product (K mul + K add).
  return mul(mul(2, product(result.getShape())), static_cast<uint64_t>(k));
}

/// Returns {product flops, softmax flops}.
std::pair<uint64_t, uint64_t> attentionFlops(AttentionOp op) {
  auto q = op.getQuery().getType().getShape();
  auto k = op.getKey().getType().getShape();
  auto v = op.getValue().getType().getShape();
  uint64_t scores = product({q[0], q[1], q[2], k[2]}); // B*Hq*T*S
  uint64_t products = mul(mul(2, scores), static_cast<uint64_t>(q[3] + v[3]));
  return {products, mul(5, scores)};
}

/// The small per-element term of ops that are not products (see header);
/// nullopt for an op that has no rule here.
std::optional<uint64_t> elementwiseFlops(Operation *op) {
  uint64_t out = op->getNumResults() ? elements(op->getResult(0)) : 0;
  return llvm::TypeSwitch<Operation *, std::optional<uint64_t>>(op)
      .Case<AddOp, SubOp, MulOp, DivOp, NegOp, ExpOp, SqrtOp, RsqrtOp, CastOp>(
          [&](Operation *) { return out; })
      .Case<SigmoidOp, RopeOp>([&](Operation *) { return mul(3, out); })
      .Case<SiluOp, RmsNormOp>([&](Operation *) { return mul(4, out); })
      .Case<SwigluOp, SoftmaxOp>([&](Operation *) { return mul(5, out); })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp>(
          [&](Operation *reduce) { return elements(reduce->getOperand(0)); })
      .Case<CrossEntropyOp>([&](CrossEntropyOp ce) {
        return mul(4, elements(ce.getLogits()));
      })
      // Sources and data movement: no arithmetic.
      .Case<ParamOp, StateOp, ConstantOp, ReshapeOp, TransposeOp, SliceOp, ConcatOp,
            GatherOp, EmbeddingOp, BroadcastToOp, func::ReturnOp>(
          [](Operation *) { return uint64_t{0}; })
      // Not part of the forward step these figures describe (gradients,
      // optimizer, transfers, events, collectives): counted as 0 by the
      // convention in the header, each by name.
      .Case<RmsNormGradOp, RopeGradOp, AttentionGradOp, SwigluGradOp, EmbeddingGradOp,
            CrossEntropyGradOp, SoftmaxGradOp, SliceGradOp, GatherGradOp, GlobalNormOp,
            NormPartialOp, NormCombineOp,
            AdamStepOp, OffloadOp, PrefetchOp, RecordOp, WaitOp, FreeOp, RecomputeOp, YieldOp,
            AllGatherOp, ReduceScatterOp>([](Operation *) { return uint64_t{0}; })
      .Default([](Operation *) { return std::nullopt; });
}

/// Collects N from each "layers.N." in a parameter name.
void collectLayerIndices(StringRef name, std::set<int64_t> &indices) {
  for (size_t pos = name.find("layers."); pos != StringRef::npos;
       pos = name.find("layers.", pos + 1)) {
    if (pos > 0 && name[pos - 1] != '.' && name[pos - 1] != '/')
      continue;
    StringRef rest = name.drop_front(pos + 7);
    StringRef digits = rest.take_while(llvm::isDigit);
    int64_t index = 0;
    if (!digits.empty() && rest.drop_front(digits.size()).starts_with(".") &&
        !digits.getAsInteger(10, index))
      indices.insert(index);
  }
}

std::string typeName(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

} // namespace

std::optional<uint64_t> mlir::off::opFlops(Operation *op) {
  if (auto matmul = dyn_cast<MatmulOp>(op))
    return matmulFlops(matmul);
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    auto [products, softmax] = attentionFlops(attention);
    return add(products, softmax);
  }
  return elementwiseFlops(op);
}

llvm::Expected<ModelStats> mlir::off::computeModelStats(ModuleOp module) {
  ModelStats stats;
  std::set<int64_t> layerIndices;
  std::set<std::string> noRule;
  int64_t attentionOps = 0;
  module.walk([&](Operation *op) {
    if (isa<ModuleOp, FunctionOpInterface>(op))
      return;
    stats.opCounts[op->getName().getStringRef().str()] += 1;
    if (auto param = dyn_cast<ParamOp>(op)) {
      auto count = static_cast<int64_t>(elements(param.getResult()));
      stats.parameters += count;
      stats.parameterTensors += 1;
      if (param.getTrainable())
        stats.trainableParameters += count;
      collectLayerIndices(param.getName(), layerIndices);
    } else if (auto matmul = dyn_cast<MatmulOp>(op)) {
      stats.flopsMatmul = add(stats.flopsMatmul, matmulFlops(matmul));
    } else if (auto attention = dyn_cast<AttentionOp>(op)) {
      auto [products, softmax] = attentionFlops(attention);
      stats.flopsAttention = add(stats.flopsAttention, products);
      stats.flopsElementwise = add(stats.flopsElementwise, softmax);
      attentionOps += 1;
    } else if (std::optional<uint64_t> flops = elementwiseFlops(op)) {
      stats.flopsElementwise = add(stats.flopsElementwise, *flops);
    } else {
      noRule.insert(op->getName().getStringRef().str());
    }
  });
  if (!noRule.empty()) {
    std::string names;
    for (const std::string &name : noRule)
      names += (names.empty() ? "'" : ", '") + name + "'";
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "no FLOP rule for " + names +
            " (compiler/Import/ModelStats.cpp opFlops: give each op its count, 0 for data "
            "movement; see docs/adding-an-op.md)");
  }
  stats.flopsForward =
      add(add(stats.flopsMatmul, stats.flopsAttention), stats.flopsElementwise);
  stats.layers = layerIndices.empty() ? attentionOps
                                      : static_cast<int64_t>(layerIndices.size());

  for (auto func : module.getOps<FunctionOpInterface>()) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      ModelStats::Input input;
      auto name = func.getArgAttrOfType<StringAttr>(i, "off.name");
      input.name = name ? name.str() : ("arg" + llvm::Twine(i)).str();
      Type type = func.getArgument(i).getType();
      if (auto tensor = dyn_cast<RankedTensorType>(type)) {
        input.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
        input.elementType = typeName(tensor.getElementType());
      } else {
        input.elementType = typeName(type);
      }
      stats.inputs.push_back(std::move(input));
    }
    break; // the first function is the model's entry
  }
  return stats;
}

llvm::json::Object mlir::off::modelStatsToJson(const ModelStats &stats) {
  llvm::json::Object opCounts;
  for (const auto &[name, count] : stats.opCounts)
    opCounts[name] = count;
  llvm::json::Array inputs;
  for (const ModelStats::Input &input : stats.inputs) {
    llvm::json::Array shape;
    for (int64_t dim : input.shape)
      shape.push_back(dim);
    inputs.push_back(llvm::json::Object{{"name", input.name},
                                        {"shape", std::move(shape)},
                                        {"element_type", input.elementType}});
  }
  return llvm::json::Object{
      {"parameters", stats.parameters},
      {"trainable_parameters", stats.trainableParameters},
      {"parameter_tensors", stats.parameterTensors},
      {"flops_forward", stats.flopsForward},
      {"flops_forward_breakdown",
       llvm::json::Object{{"matmul", stats.flopsMatmul},
                          {"attention", stats.flopsAttention},
                          {"elementwise", stats.flopsElementwise}}},
      {"layers", stats.layers},
      {"op_counts", std::move(opCounts)},
      {"inputs", std::move(inputs)},
  };
}
