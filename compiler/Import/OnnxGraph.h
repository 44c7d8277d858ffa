//===- OnnxGraph.h - translating one ONNX graph node by node ----*- C++ -*-===//
//
// Internal to the ONNX importer. GraphImporter walks the (sorted) nodes and
// maps every ONNX value name to an SSA value with a static type. Each op type
// has a handler (OnnxOps*.cpp) that reads its inputs and attributes through
// NodeContext and defines its outputs:
//
// * ops with an off equivalent emit it, also on constant operands (the
//   off-fold-shapes pass folds those afterwards);
// * ops without one (Shape, Range, Equal, Where, Cos, ...) are evaluated here
//   and become `off.constant`; their inputs must be constant, which they are
//   for the shape, mask and rotary subgraphs once shapes are static.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_ONNXGRAPH_H
#define OFF_COMPILER_IMPORT_ONNXGRAPH_H

#include "compiler/Import/OnnxImporter.h"
#include "compiler/Import/OnnxModel.h"
#include "dialects/off/IR/OffDialect.h"
#include "dialects/off/Transforms/ConstantFolding.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/GlobPattern.h"

#include <optional>
#include <string>

namespace mlir::off::onnx_import {

class GraphImporter;

/// What a handler sees of the node it translates.
class NodeContext {
public:
  NodeContext(GraphImporter &importer, const onnx::NodeProto &node)
      : importer(importer), node(node) {}

  OpBuilder &builder();
  Location loc();
  MLIRContext *context();
  int64_t opset() const;
  const onnx::NodeProto &proto() const { return node; }

  /// Number of inputs, counting empty (omitted optional) ones.
  unsigned numInputs() const { return node.input_size(); }
  bool hasInput(unsigned i) const { return i < numInputs() && !node.input(i).empty(); }
  /// The value of input i (null when absent). Integer model inputs that were
  /// narrowed to i32 come back as i64 here, as the ONNX graph expects.
  Value input(unsigned i);
  /// Input i as the ids of an embedding lookup: narrowed model inputs stay i32.
  Value indicesInput(unsigned i);
  RankedTensorType inputType(unsigned i);
  /// The value of input i when it is a constant (possibly after evaluating
  /// the off ops computing it); null otherwise. Reports nothing.
  const HostTensor *constantInput(unsigned i);
  /// Input i as a constant list of integers (shape vectors, axes).
  FailureOr<SmallVector<int64_t>> intsInput(unsigned i, llvm::StringRef what);

  const onnx::AttributeProto *attribute(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t otherwise) const;
  float floatAttr(llvm::StringRef name, float otherwise) const;
  std::optional<SmallVector<int64_t>> intsAttr(llvm::StringRef name) const;
  /// A tensor-valued attribute (Constant's value, ConstantOfShape's fill).
  FailureOr<HostTensor> tensorAttr(llvm::StringRef name);

  /// Defines output i.
  void setOutput(unsigned i, Value value);
  /// Defines output i as an off.constant holding `value`.
  void setConstantOutput(unsigned i, const HostTensor &value);
  /// An off.constant holding `value` at the top of the function, the same
  /// op for equal values (tables that every layer reads, such as rope's).
  Value sharedConstant(const HostTensor &value);

  /// Records "path: node 'n' (Op, opset N): message" and returns failure.
  LogicalResult fail(const llvm::Twine &message);
  /// Fails unless every present input is a constant (for ops without an off
  /// equivalent), naming the first one that is not.
  LogicalResult requireConstantInputs();

  /// IsNaN of a value computed from the model's input cannot be evaluated;
  /// it is only accepted as the guard Where(IsNaN(p), 0, p) that exporters
  /// put after attention's softmax. The IsNaN handler defers its output
  /// and the Where handler asks which value input i tested (empty if none).
  void deferIsNan();
  llvm::StringRef isNanSubject(unsigned i) const;

  /// Normalises a possibly negative axis into [0, rank).
  FailureOr<int64_t> axis(int64_t value, int64_t rank);

private:
  GraphImporter &importer;
  const onnx::NodeProto &node;
};

using OpHandler = LogicalResult (*)(NodeContext &);

/// Handlers by ONNX op type, filled by the OnnxOps*.cpp files.
void addElementwiseHandlers(llvm::StringMap<OpHandler> &handlers);
void addShapeHandlers(llvm::StringMap<OpHandler> &handlers);
void addConstantHandlers(llvm::StringMap<OpHandler> &handlers);
void addFusedHandlers(llvm::StringMap<OpHandler> &handlers);
const llvm::StringMap<OpHandler> &allHandlers();

/// How each initializer enters the graph (OnnxParams.cpp).
struct InitializerPlan {
  bool isParam = false;        ///< off.param, else off.constant
  std::string paramName;       ///< the name in checkpoints
  bool transposed = false;     ///< declared [N, K]: the ONNX tensor is its W^T
  /// Merged by the exporter and split back: the param of each use's module
  /// (a module not listed reads `paramName`).
  llvm::StringMap<std::string> byScope;
  std::string why;             ///< the rule that made it a weight
};

/// An Identity(initializer) output that is a weight of its own (TorchScript
/// records merged weights so).
struct AliasPlan {
  std::string initializer;
  std::string paramName;
};

struct ImportPlan {
  llvm::StringMap<InitializerPlan> initializers;
  llvm::StringMap<AliasPlan> aliases;
  OnnxImportSummary summary; ///< constants and notes (weights: GraphImporter)
};

/// Decides, for every initializer, whether it is a weight or a constant and
/// which checkpoint name(s) it gets (see OnnxParams.cpp for the rule).
llvm::Expected<ImportPlan> planInitializers(OnnxModelFile &file,
                                            const OnnxImportOptions &options,
                                            MLIRContext &context);

/// The innermost module a node belongs to (its dotted path, and its class
/// when the exporter records it), from dynamo's `namespace` metadata or the
/// TorchScript node name; nullopt when the node carries neither.
struct ModuleScope {
  std::string path, kind;
};
std::optional<ModuleScope> moduleScope(const onnx::NodeProto &node);

/// The Linear module a MatMul/Gemm node belongs to; empty when unknown.
std::string linearScope(const onnx::NodeProto &node);

class GraphImporter {
public:
  GraphImporter(MLIRContext &context, OnnxModelFile &file,
                const OnnxImportOptions &options);
  llvm::Expected<OwningOpRef<ModuleOp>> run();

  /// The initializer behind each param name materialised.
  struct ParamSource {
    const onnx::TensorProto *tensor = nullptr;
    bool transposed = false;
  };
  const llvm::StringMap<ParamSource> &paramSources() const { return params; }
  /// The plan's summary with one entry per param added.
  OnnxImportSummary takeSummary() { return std::move(plan.summary); }

private:
  friend class NodeContext;
  llvm::Error declareInputs(func::FuncOp func, SmallVectorImpl<Type> &types);
  Value lookup(llvm::StringRef name, bool asIndices);
  Value materializeInitializer(llvm::StringRef name);
  Value materializeParam(llvm::StringRef paramName, const onnx::TensorProto &tensor,
                         bool transposed, llvm::StringRef why);
  llvm::Error finishOutputs(func::FuncOp func);

  MLIRContext &context;
  OnnxModelFile &file;
  const OnnxImportOptions &options;
  OpBuilder builder;
  Location currentLoc;
  ConstantEvaluator evaluator;
  llvm::StringMap<Value> values;
  llvm::StringMap<const onnx::TensorProto *> initializers;
  ImportPlan plan;
  llvm::StringMap<ParamSource> params;
  llvm::StringMap<Value> paramValues;     // param name -> its off.param
  llvm::StringMap<Value> transposedViews; // param name -> its off.transpose
  const onnx::NodeProto *currentNode = nullptr;
  std::vector<llvm::GlobPattern> frozen;
  std::vector<bool> frozenUsed;
  llvm::StringSet<> narrowedInputs;
  llvm::StringMap<Value> widenedInputs;
  llvm::StringMap<std::string> deferredIsNan; // IsNaN output -> tested value
  std::string failure;
};

} // namespace mlir::off::onnx_import

#endif // OFF_COMPILER_IMPORT_ONNXGRAPH_H
