//===- OnnxParams.cpp - which initializers are weights, and their names ---===//
//
// ONNX does not say which initializers a model trains. The rule (stated for
// users in docs/frontends.md, "Weights and constants"):
//
// 1. Only a floating-point initializer with at least two elements that
//    reaches the model's output through ops with a gradient can be a weight;
//    one that also feeds something evaluated while importing (Cos, Range, a
//    shape operand) is a constant.
// 2. Model weights are the model's parameters: where the exporter records
//    what an initializer was in PyTorch (the dynamo exporter's graph
//    signature kind PARAMETER / BUFFER / CONSTANT_TENSOR on its value_info),
//    that decides.
// 3. Otherwise (TorchScript, initializers the exporter folded from a
//    computation, other producers) tables and masks that depend on nothing
//    but shapes are recognised by their values and are constants: additive
//    attention masks (0 and -inf / <= -1e9) and rotary tables (cos or sin of
//    position times a frequency per column). Everything else is a weight.
// 4. --trainable GLOB / --frozen GLOB override (frozen: a param that gets no
//    gradient and no optimizer step).
//
// Exporters merge initializers with equal contents: a fresh model's RMSNorm
// weights (all ones) arrive as one initializer used by every norm (dynamo),
// or as Identity copies of one (TorchScript). Such an initializer whose uses
// lie in several modules is split back into one weight per module when all
// its elements are equal (the only way distinct weights end up identical);
// otherwise its uses are one weight tied across modules (tie_word_embeddings).
// --shared-weights split|tied forces either. TorchScript stores a tied
// Linear weight as a transposed copy: a copy equal to another weight's
// transpose is that weight.
//
// Names: Hugging Face names kept by the exporter stay; Linear weights that
// the exporter pre-transposed into anonymous initializers get the module's
// name back from the scope of their MatMul (TorchScript node names, dynamo's
// `namespace` metadata) and are declared in Hugging Face's [out, in] layout.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"
#include "dialects/off/Transforms/AttentionMask.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/GlobPattern.h"

#include <google/protobuf/unknown_field_set.h>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

namespace {

/// Ops computed while importing: all their inputs must be constants.
bool isEvaluatedOnly(llvm::StringRef op) {
  static const llvm::StringSet<> ops = {
      "Range", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
      "And", "Or", "Xor", "Not", "Where", "CumSum", "Trilu",
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

/// The last dotted component of a name ("weight" of "model.norm.weight").
llvm::StringRef leafOf(llvm::StringRef name) {
  llvm::StringRef leaf = name.rsplit('.').second;
  return leaf.empty() ? name : leaf;
}

bool matchesAny(const std::vector<llvm::GlobPattern> &globs, llvm::StringRef a,
                llvm::StringRef b, std::vector<bool> &used) {
  bool any = false;
  for (size_t i = 0; i < globs.size(); ++i)
    if (globs[i].match(a) || globs[i].match(b)) {
      used[i] = true;
      any = true;
    }
  return any;
}

/// Everything the rules need about the graph.
struct GraphFacts {
  llvm::StringSet<> dependent, mustBeConstant, reachesData;
  llvm::StringMap<llvm::SmallVector<std::pair<const onnx::NodeProto *, int>>> uses;
  llvm::StringMap<std::string> kinds; // value_info: graph signature kind
};

GraphFacts analyse(const onnx::GraphProto &graph) {
  GraphFacts facts;
  // Forward: values that depend on the model's input data.
  for (const auto &input : graph.input())
    facts.dependent.insert(input.name());
  for (const auto &init : graph.initializer())
    facts.dependent.erase(init.name()); // listed as inputs by old exporters
  for (const auto &node : graph.node()) {
    if (readsTypeOnly(node.op_type()))
      continue;
    bool any = false;
    for (const std::string &input : node.input())
      any |= !input.empty() && facts.dependent.contains(input);
    if (any)
      for (const std::string &output : node.output())
        facts.dependent.insert(output);
  }
  // Backward: values that must be constant, values that reach the data path.
  for (auto it = graph.node().rbegin(); it != graph.node().rend(); ++it) {
    const onnx::NodeProto &node = *it;
    if (readsTypeOnly(node.op_type()))
      continue;
    bool outputConstant = false, outputReaches = false;
    for (const std::string &output : node.output()) {
      outputConstant |= facts.mustBeConstant.contains(output);
      outputReaches |= facts.dependent.contains(output) || facts.reachesData.contains(output);
    }
    for (int slot = 0; slot < node.input_size(); ++slot) {
      const std::string &input = node.input(slot);
      if (input.empty() || facts.dependent.contains(input))
        continue;
      if (outputConstant || isEvaluatedOnly(node.op_type()) ||
          isConstantSlot(node.op_type(), slot))
        facts.mustBeConstant.insert(input);
      else if (outputReaches)
        facts.reachesData.insert(input);
    }
  }
  for (const auto &node : graph.node())
    for (int slot = 0; slot < node.input_size(); ++slot)
      facts.uses[node.input(slot)].push_back({&node, slot});
  for (const auto &info : graph.value_info())
    for (const auto &[key, value] : unknownMetadata(info, /*field=*/4))
      if (key == "pkg.torch.export.graph_signature.InputSpec.kind")
        facts.kinds[info.name()] = value;
  return facts;
}

/// The Hugging Face name of a pre-transposed Linear weight: it is only ever
/// the right operand of MatMul nodes of one Linear module.
std::string linearWeightName(const GraphFacts &facts, const onnx::TensorProto &init) {
  auto found = facts.uses.find(init.name());
  if (found == facts.uses.end() || found->second.empty())
    return "";
  std::string scope;
  for (auto [node, slot] : found->second) {
    std::string here = linearScope(*node);
    if (node->op_type() != "MatMul" || slot != 1 || here.empty() ||
        (!scope.empty() && scope != here))
      return "";
    scope = here;
  }
  return scope + ".weight";
}

bool allElementsEqual(const FloatElements &values) {
  for (int64_t i = 1; i < values.size(); ++i)
    if (values[i] != values[0])
      return false;
  return true;
}

/// `copy` [K, N] holds the transpose of `weight` [N, K], element for element.
bool isTransposeOf(const FloatElements &copy, const FloatElements &weight, int64_t k,
                   int64_t n) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (copy[i * n + j] != weight[j * k + i])
        return false;
  return true;
}

} // namespace

std::optional<ModuleScope> onnx_import::moduleScope(const onnx::NodeProto &node) {
  // dynamo: ": Root/model.layers.0: Block/model.layers.0.input_layernorm:
  //          RMSNorm/mul_1: aten.mul.Tensor" (the last part is the op)
  for (const auto &[key, value] : unknownMetadata(node, /*field=*/9)) {
    if (key != "namespace")
      continue;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(value).split(parts, '/');
    if (parts.size() < 2)
      return std::nullopt;
    auto [name, kind] = parts[parts.size() - 2].split(": ");
    return ModuleScope{name.trim().str(), kind.trim().str()};
  }
  // TorchScript: "/model/layers.0/input_layernorm/Mul_1"
  llvm::StringRef name = node.name();
  if (!name.consume_front("/"))
    return std::nullopt;
  auto [scope, leaf] = name.rsplit('/');
  if (leaf.empty())
    return ModuleScope{"", ""};
  std::string dotted = scope.str();
  std::replace(dotted.begin(), dotted.end(), '/', '.');
  return ModuleScope{dotted, ""};
}

std::string onnx_import::linearScope(const onnx::NodeProto &node) {
  for (const auto &[key, value] : unknownMetadata(node, /*field=*/9)) {
    if (key != "namespace")
      continue;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(value).split(parts, '/');
    std::string found;
    for (llvm::StringRef part : parts) {
      auto [name, kind] = part.split(": ");
      if (kind.trim() == "torch.nn.modules.linear.Linear")
        found = name.trim().str();
    }
    if (!found.empty())
      return found;
  }
  llvm::StringRef leaf = llvm::StringRef(node.name()).rsplit('/').second;
  if (!(leaf.starts_with("MatMul") || leaf.starts_with("Gemm")))
    return "";
  auto scope = moduleScope(node);
  return scope ? scope->path : "";
}

llvm::Expected<ImportPlan> onnx_import::planInitializers(OnnxModelFile &file,
                                                         const OnnxImportOptions &options,
                                                         MLIRContext &context) {
  const onnx::GraphProto &graph = file.graph();
  GraphFacts facts = analyse(graph);
  auto globs = [&](const std::vector<std::string> &patterns, llvm::StringRef option)
      -> llvm::Expected<std::vector<llvm::GlobPattern>> {
    std::vector<llvm::GlobPattern> compiled;
    for (const std::string &pattern : patterns) {
      auto glob = llvm::GlobPattern::create(pattern);
      if (!glob)
        return file.error(option + " '" + pattern + "': " + llvm::toString(glob.takeError()));
      compiled.push_back(std::move(*glob));
    }
    return compiled;
  };
  auto trainableGlobs = globs(options.trainable, "--trainable");
  if (!trainableGlobs)
    return trainableGlobs.takeError();
  std::vector<bool> trainableUsed(trainableGlobs->size());

  ImportPlan result;
  OnnxImportSummary &summary = result.summary;
  llvm::StringSet<> taken;
  for (const auto &init : graph.initializer())
    taken.insert(init.name());
  llvm::StringMap<FloatElements> weightValues;

  // Rules 1-3 and the names of pre-transposed Linear weights.
  for (const auto &init : graph.initializer()) {
    InitializerPlan &plan = result.initializers[init.name()];
    plan.paramName = init.name();
    bool candidate = isFloatType(init.data_type()) && numElements(init) >= 2 &&
                     facts.reachesData.contains(init.name());
    bool forced = matchesAny(*trainableGlobs, init.name(), init.name(), trainableUsed);
    if (!candidate || (forced && facts.mustBeConstant.contains(init.name()))) {
      if (forced)
        return file.error(
            "--trainable matches initializer '" + init.name() +
            "', which must be a constant: it " +
            (facts.mustBeConstant.contains(init.name())
                 ? "feeds ops evaluated while importing"
                 : !isFloatType(init.data_type()) ? "is not floating-point"
                 : numElements(init) < 2          ? "is a scalar"
                                                  : "does not reach the model's output"));
      if (isFloatType(init.data_type()) && numElements(init) >= 2)
        summary.constants.push_back(
            {init.name(), "", numElements(init),
             facts.mustBeConstant.contains(init.name())
                 ? "feeds ops evaluated while importing"
                 : "does not reach the model's output"});
      else
        summary.smallConstants += 1;
      continue;
    }
    OnnxImportSummary::Initializer entry{init.name(), "", numElements(init), ""};
    std::string why;
    bool weight = false;
    auto kind = facts.kinds.find(init.name());
    if (facts.mustBeConstant.contains(init.name())) {
      why = "feeds ops evaluated while importing";
    } else if (kind != facts.kinds.end()) {
      weight = kind->second == "PARAMETER";
      why = "the exporter records it as a " + llvm::StringRef(kind->second).lower();
    } else {
      auto values = file.floatElements(init, context);
      if (!values)
        return values.takeError();
      llvm::SmallVector<int64_t> shape(init.dims().begin(), init.dims().end());
      auto at = [&](int64_t i) { return (*values)[i]; };
      if (isAdditiveMaskValues(shape, at))
        why = "an additive attention mask (0 and -inf): depends only on shapes";
      else if (isRotaryTableValues(shape, at))
        why = "a rotary (RoPE) table: depends only on shapes";
      else
        weight = true, why = "reaches the output";
      if (weight)
        weightValues.try_emplace(init.name(), std::move(*values));
    }
    if (!weight && forced) {
      weight = true;
      why = "--trainable (it would be a constant: " + why + ")";
    }
    entry.why = why;
    if (!weight) {
      summary.constants.push_back(std::move(entry));
      continue;
    }
    plan.isParam = true;
    plan.why = why;
    if (!weightValues.count(init.name())) {
      auto values = file.floatElements(init, context);
      if (!values)
        return values.takeError();
      weightValues.try_emplace(init.name(), std::move(*values));
    }
    if (init.dims_size() != 2)
      continue;
    std::string name = linearWeightName(facts, init);
    if (name.empty() || name == init.name() || taken.contains(name))
      continue;
    taken.insert(name);
    plan.paramName = name;
    plan.transposed = true;
  }

  // A 2-D weight equal to another weight's transpose is that weight: the
  // exporter folded `W.T` into a copy (TorchScript's tie_word_embeddings).
  if (options.sharedWeights != SharedWeights::Split) {
    for (const auto &copy : graph.initializer()) {
      InitializerPlan &plan = result.initializers[copy.name()];
      if (!plan.isParam || copy.dims_size() != 2 ||
          allElementsEqual(weightValues.find(copy.name())->second))
        continue;
      for (const auto &other : graph.initializer()) {
        const InitializerPlan &target = result.initializers[other.name()];
        if (&other == &copy || !target.isParam || target.transposed || other.dims_size() != 2 ||
            other.dims(0) != copy.dims(1) || other.dims(1) != copy.dims(0) ||
            other.data_type() != copy.data_type() ||
            !isTransposeOf(weightValues.find(copy.name())->second,
                           weightValues.find(other.name())->second, copy.dims(0),
                           copy.dims(1)))
          continue;
        summary.notes.push_back("'" + copy.name() + "' (used as " + plan.paramName +
                                ") is the transpose of '" + other.name() +
                                "': one weight, tied");
        if (plan.paramName != copy.name())
          taken.erase(plan.paramName);
        plan.paramName = target.paramName;
        plan.transposed = true;
        break;
      }
    }
  }

  // Merged initializers: one weight per module, or one tied weight.
  for (const auto &init : graph.initializer()) {
    InitializerPlan &plan = result.initializers[init.name()];
    if (!plan.isParam)
      continue;
    // TorchScript: Identity copies under the other weights' names.
    llvm::SmallVector<const onnx::NodeProto *> copies;
    // dynamo: the uses' modules.
    llvm::StringMap<int> scopes;
    std::string firstScope;
    bool everyUseScoped = true;
    for (auto [node, slot] : facts.uses.lookup(init.name())) {
      if (node->op_type() == "Identity" && node->output_size() == 1 &&
          !node->output(0).empty() && !taken.contains(node->output(0))) {
        copies.push_back(node);
        continue;
      }
      auto scope = moduleScope(*node);
      everyUseScoped &= scope.has_value();
      if (scope && scopes.empty())
        firstScope = scope->path;
      if (scope)
        scopes[scope->path] += 1;
    }
    bool several = !copies.empty() || (everyUseScoped && scopes.size() > 1);
    if (!several)
      continue;
    bool equal = allElementsEqual(weightValues.find(init.name())->second);
    bool split = options.sharedWeights == SharedWeights::Split ||
                 (options.sharedWeights == SharedWeights::Auto && equal);
    int64_t modules = copies.size() + std::max<int64_t>(1, scopes.size());
    std::string reason = options.sharedWeights != SharedWeights::Auto
                             ? "--shared-weights"
                             : equal ? "all its elements are equal: merged by the exporter"
                                     : "distinct values: a true tie";
    summary.notes.push_back("'" + init.name() + "' is used by " + llvm::Twine(modules).str() +
                            " modules: " + (split ? "one weight each" : "one tied weight") +
                            " (" + reason + ")");
    if (!split) {
      // One weight of several modules: PyTorch's named_parameters() lists
      // it under the first module that has it, which runs first (the
      // embedding, not the LM head of tie_word_embeddings).
      std::string first = (firstScope + "." + leafOf(plan.paramName)).str();
      if (everyUseScoped && copies.empty() && !firstScope.empty() && !plan.transposed &&
          first != plan.paramName && !taken.contains(first)) {
        summary.notes.back() += ", named " + first;
        taken.insert(first);
        plan.paramName = first;
      }
      continue;
    }
    for (const onnx::NodeProto *copy : copies) {
      result.aliases[copy->output(0)] = {init.name(), copy->output(0)};
      taken.insert(copy->output(0));
    }
    if (!everyUseScoped || scopes.size() < 2)
      continue;
    // The use whose module owns the name keeps it; the others get
    // "<module>.<leaf>".
    llvm::StringRef name = plan.paramName, leaf = leafOf(name);
    for (const auto &scope : scopes) {
      llvm::StringRef path = scope.getKey();
      if (!path.empty() && name.starts_with(path) && name.drop_front(path.size()) == ("." + leaf).str())
        continue;
      std::string own = path.empty() ? leaf.str() : (path + "." + leaf).str();
      if (taken.contains(own))
        continue; // cannot name it apart: stays with the first
      taken.insert(own);
      plan.byScope[path] = own;
    }
  }

  for (size_t i = 0; i < trainableUsed.size(); ++i)
    if (!trainableUsed[i])
      return file.error("--trainable '" + options.trainable[i] +
                        "' matches no initializer of the model");
  return result;
}
