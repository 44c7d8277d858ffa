//===- OnnxParams.cpp - which initializers are parameters, and their names ===//
//
// ONNX does not say which initializers are trainable weights. The rule:
//
//   a floating-point initializer with at least two elements is a parameter
//   when it reaches a value computed from the model's input, unless it also
//   feeds something that must be a constant at import time (an op without an
//   off equivalent such as Cos, or a shape operand).
//
// So weights are parameters while rotary inv_freq (it feeds Cos), scalars
// (eps, scales) and index tensors are constants.
//
// Names: Hugging Face names kept by the exporter stay as they are. Linear
// weights that the exporter pre-transposed into anonymous initializers
// (`onnx::MatMul_607`, `val_152`) get the module's name back from the scope
// of the MatMul reading them (the TorchScript exporter's node name
// `/model/layers.0/self_attn/q_proj/MatMul`, the dynamo exporter's
// `namespace` metadata) and are declared in Hugging Face's [out, in] layout.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"

#include "llvm/ADT/StringSet.h"

#include <google/protobuf/unknown_field_set.h>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

namespace {

/// Ops computed while importing: all their inputs must be constants.
bool isEvaluatedOnly(llvm::StringRef op) {
  static const llvm::StringSet<> ops = {
      "Range", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
      "And", "Or", "Xor", "Not", "Where", "CumSum", "GatherND", "Trilu",
      "Max", "Min", "Cos", "Sin", "Abs", "Floor", "Ceil", "ConstantOfShape"};
  return ops.contains(op);
}

/// Inputs that must be constant for ops that have an off equivalent.
bool isConstantSlot(llvm::StringRef op, unsigned slot) {
  if (op == "Slice")
    return slot >= 1;
  if (op == "Reshape" || op == "Unsqueeze" || op == "Squeeze" || op == "Expand" ||
      op == "Split" || op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" ||
      op == "Pow")
    return slot == 1;
  return false;
}

/// Shape and Size read only the static type of their input.
bool readsTypeOnly(llvm::StringRef op) { return op == "Shape" || op == "Size"; }

/// The module path of the Linear layer a MatMul/Gemm node belongs to, from
/// the exporter's scope information; empty when there is none.
std::string linearScope(const onnx::NodeProto &node) {
  // dynamo: "...LlamaAttention/model.layers.0.self_attn.q_proj:
  //          torch.nn.modules.linear.Linear/linear: aten.linear.default"
  // NodeProto.metadata_props (field 9) is newer than libonnx 1.12's schema,
  // so protobuf keeps it among the unknown fields.
  const auto &unknown = node.unknown_fields();
  for (int f = 0; f < unknown.field_count(); ++f) {
    const auto &field = unknown.field(f);
    onnx::StringStringEntryProto entry;
    if (field.number() != 9 ||
        field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED ||
        !entry.ParseFromString(field.length_delimited()) || entry.key() != "namespace")
      continue;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(entry.value()).split(parts, '/');
    std::string found;
    for (llvm::StringRef part : parts) {
      auto [name, kind] = part.split(": ");
      if (kind.trim() == "torch.nn.modules.linear.Linear")
        found = name.trim().str();
    }
    if (!found.empty())
      return found;
  }
  // TorchScript: "/model/layers.0/self_attn/q_proj/MatMul"
  llvm::StringRef name = node.name();
  if (!name.consume_front("/"))
    return "";
  auto [scope, leaf] = name.rsplit('/');
  if (leaf.empty() || !(leaf.starts_with("MatMul") || leaf.starts_with("Gemm")))
    return "";
  std::string dotted = scope.str();
  std::replace(dotted.begin(), dotted.end(), '/', '.');
  return dotted;
}

int64_t numElements(const onnx::TensorProto &tensor) {
  int64_t count = 1;
  for (int64_t d : tensor.dims())
    count *= d;
  return count;
}

bool isFloatType(int32_t type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE ||
         type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16;
}

} // namespace

llvm::StringMap<InitializerPlan>
onnx_import::planInitializers(const OnnxModelFile &file,
                              const llvm::StringMap<OpHandler> &) {
  const onnx::GraphProto &graph = file.graph();
  // Forward: values that depend on the model's input data.
  llvm::StringSet<> dependent;
  for (const auto &input : graph.input())
    dependent.insert(input.name());
  for (const auto &init : graph.initializer())
    dependent.erase(init.name()); // listed as inputs by old exporters
  for (const auto &node : graph.node()) {
    if (readsTypeOnly(node.op_type()))
      continue;
    bool any = false;
    for (const std::string &input : node.input())
      any |= !input.empty() && dependent.contains(input);
    if (any)
      for (const std::string &output : node.output())
        dependent.insert(output);
  }
  // Backward: values that must be constant, values that reach the data path.
  llvm::StringSet<> mustBeConstant, reachesData;
  for (auto it = graph.node().rbegin(); it != graph.node().rend(); ++it) {
    const onnx::NodeProto &node = *it;
    if (readsTypeOnly(node.op_type()))
      continue;
    bool outputConstant = false, outputReaches = false;
    for (const std::string &output : node.output()) {
      outputConstant |= mustBeConstant.contains(output);
      outputReaches |= dependent.contains(output) || reachesData.contains(output);
    }
    for (int slot = 0; slot < node.input_size(); ++slot) {
      const std::string &input = node.input(slot);
      if (input.empty() || dependent.contains(input))
        continue;
      if (outputConstant || isEvaluatedOnly(node.op_type()) ||
          isConstantSlot(node.op_type(), slot))
        mustBeConstant.insert(input);
      else if (outputReaches)
        reachesData.insert(input);
    }
  }
  // Consumers of each initializer, for the name recovery.
  llvm::StringMap<llvm::SmallVector<std::pair<const onnx::NodeProto *, int>>> uses;
  for (const auto &node : graph.node())
    for (int slot = 0; slot < node.input_size(); ++slot)
      uses[node.input(slot)].push_back({&node, slot});

  llvm::StringMap<InitializerPlan> plans;
  llvm::StringSet<> taken;
  for (const auto &init : graph.initializer())
    taken.insert(init.name());
  for (const auto &init : graph.initializer()) {
    InitializerPlan &plan = plans[init.name()];
    plan.paramName = init.name();
    plan.isParam = isFloatType(init.data_type()) && numElements(init) >= 2 &&
                   reachesData.contains(init.name()) &&
                   !mustBeConstant.contains(init.name());
    if (!plan.isParam || init.dims_size() != 2)
      continue;
    // A pre-transposed Linear weight: only ever the right operand of MatMul
    // nodes of one Linear module.
    std::string scope;
    bool onlyRhsOfMatMul = !uses[init.name()].empty();
    for (auto [node, slot] : uses[init.name()]) {
      std::string here = linearScope(*node);
      onlyRhsOfMatMul &= node->op_type() == "MatMul" && slot == 1 && !here.empty() &&
                         (scope.empty() || scope == here);
      scope = here;
    }
    std::string name = scope + ".weight";
    if (!onlyRhsOfMatMul || name == init.name() || taken.contains(name))
      continue;
    taken.insert(name);
    plan.paramName = name;
    plan.transposed = true;
  }
  return plans;
}
