//===- OnnxImporter.cpp - ONNX model to graph-level off IR ----------------===//
//
// The driver (importOnnxModel), the graph walk (GraphImporter) and what a
// handler sees of its node (NodeContext). The op handlers are in
// OnnxOps*.cpp, the parameter plan in OnnxParams.cpp.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

OpBuilder &NodeContext::builder() { return importer.builder; }
Location NodeContext::loc() { return importer.currentLoc; }
MLIRContext *NodeContext::context() { return &importer.context; }
int64_t NodeContext::opset() const { return importer.file.opset(); }

Value NodeContext::input(unsigned i) {
  return hasInput(i) ? importer.lookup(node.input(i), /*asIndices=*/false) : nullptr;
}

Value NodeContext::indicesInput(unsigned i) {
  return hasInput(i) ? importer.lookup(node.input(i), /*asIndices=*/true) : nullptr;
}

RankedTensorType NodeContext::inputType(unsigned i) {
  Value value = input(i);
  return value ? cast<RankedTensorType>(value.getType()) : nullptr;
}

const HostTensor *NodeContext::constantInput(unsigned i) {
  Value value = input(i);
  return value ? importer.evaluator.valueOf(value) : nullptr;
}

FailureOr<SmallVector<int64_t>> NodeContext::intsInput(unsigned i, llvm::StringRef what) {
  const HostTensor *value = constantInput(i);
  if (!value || value->isFloat()) {
    (void)fail(llvm::Twine(what) + " (input " + llvm::Twine(i) +
               ") must be a constant integer tensor for static shapes, but '" +
               node.input(i) + "' is computed from the model's input or parameters");
    return failure();
  }
  SmallVector<int64_t> result;
  for (int64_t k = 0; k < value->size(); ++k)
    result.push_back(value->getInt(k));
  return result;
}

const onnx::AttributeProto *NodeContext::attribute(llvm::StringRef name) const {
  for (const auto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t NodeContext::intAttr(llvm::StringRef name, int64_t otherwise) const {
  const auto *attr = attribute(name);
  return attr ? attr->i() : otherwise;
}

float NodeContext::floatAttr(llvm::StringRef name, float otherwise) const {
  const auto *attr = attribute(name);
  return attr ? attr->f() : otherwise;
}

std::optional<SmallVector<int64_t>> NodeContext::intsAttr(llvm::StringRef name) const {
  const auto *attr = attribute(name);
  if (!attr)
    return std::nullopt;
  return SmallVector<int64_t>(attr->ints().begin(), attr->ints().end());
}

FailureOr<HostTensor> NodeContext::tensorAttr(llvm::StringRef name) {
  const auto *attr = attribute(name);
  if (!attr || !attr->has_t()) {
    (void)fail("attribute '" + name + "' is not a tensor");
    return failure();
  }
  auto value = importer.file.readTensor(attr->t(), importer.context);
  if (!value) {
    (void)fail(llvm::toString(value.takeError()));
    return failure();
  }
  return std::move(*value);
}

void NodeContext::setOutput(unsigned i, Value value) {
  if (i < static_cast<unsigned>(node.output_size()) && !node.output(i).empty())
    importer.values[node.output(i)] = value;
}

void NodeContext::setConstantOutput(unsigned i, const HostTensor &value) {
  setOutput(i, ConstantOp::create(builder(), loc(), value.toAttr()));
}

Value NodeContext::sharedConstant(const HostTensor &value) {
  DenseElementsAttr attr = value.toAttr();
  Block *entry = builder().getInsertionBlock();
  for (Operation &op : *entry)
    if (auto constant = dyn_cast<ConstantOp>(op); constant && constant.getValue() == attr)
      return constant;
  OpBuilder::InsertionGuard guard(builder());
  builder().setInsertionPointToStart(entry);
  return ConstantOp::create(builder(), loc(), attr);
}

LogicalResult NodeContext::fail(const llvm::Twine &message) {
  if (importer.failure.empty())
    importer.failure = printable((importer.file.path() + ": node '" + node.name() +
                                  "' (" + node.op_type() + ", opset " +
                                  llvm::Twine(opset()) + "): " + message)
                                     .str());
  return failure();
}

LogicalResult NodeContext::requireConstantInputs() {
  for (unsigned i = 0; i < numInputs(); ++i)
    if (hasInput(i) && !constantInput(i)) {
      int64_t elements = inputType(i).getNumElements();
      if (elements > importer.options.maxConstantElements)
        return fail("off has no " + node.op_type() +
                    " op, so it is evaluated while importing, but input '" +
                    node.input(i) + "' has " + llvm::Twine(elements) +
                    " elements, more than the " +
                    llvm::Twine(importer.options.maxConstantElements) +
                    " the importer evaluates (masks grow as batch x seq^2: "
                    "use a smaller --shape)");
      return fail("off has no " + node.op_type() +
                  " op, so it is evaluated while importing, which needs constant "
                  "inputs; input '" + node.input(i) +
                  "' is computed from the model's input or parameters");
    }
  return success();
}

void NodeContext::deferIsNan() {
  importer.deferredIsNan[node.output(0)] = node.input(0);
}

llvm::StringRef NodeContext::isNanSubject(unsigned i) const {
  if (!hasInput(i))
    return {};
  auto found = importer.deferredIsNan.find(node.input(i));
  return found == importer.deferredIsNan.end() ? llvm::StringRef()
                                               : llvm::StringRef(found->second);
}

FailureOr<int64_t> NodeContext::axis(int64_t value, int64_t rank) {
  if (value < -rank || value >= rank) {
    (void)fail("axis " + llvm::Twine(value) + " is out of range for rank " +
               llvm::Twine(rank));
    return failure();
  }
  return value < 0 ? value + rank : value;
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

GraphImporter::GraphImporter(MLIRContext &context, OnnxModelFile &file,
                             const OnnxImportOptions &options)
    : context(context), file(file), options(options), builder(&context),
      currentLoc(UnknownLoc::get(&context)), evaluator(options.maxConstantElements) {}

Value GraphImporter::lookup(llvm::StringRef name, bool asIndices) {
  auto found = values.find(name);
  Value value = found == values.end() ? nullptr : found->second;
  if (!value) {
    if (auto alias = plan.aliases.find(name); alias != plan.aliases.end()) {
      const InitializerPlan &source = plan.initializers[alias->second.initializer];
      value = values[name] =
          materializeParam(alias->second.paramName, *initializers[alias->second.initializer],
                           source.transposed, source.why);
    } else if (initializers.count(name)) {
      value = materializeInitializer(name);
      // A split initializer is a different param in each module.
      if (plan.initializers[name].byScope.empty())
        values[name] = value;
    }
  }
  if (!value || asIndices || !narrowedInputs.contains(name))
    return value;
  // A narrowed i32 input used as data: widen it back once, as ONNX sees it.
  Value &wide = widenedInputs[name];
  if (!wide) {
    auto type = cast<RankedTensorType>(value.getType());
    wide = CastOp::create(builder, currentLoc,
                          RankedTensorType::get(type.getShape(), builder.getI64Type()),
                          value);
  }
  return wide;
}

Value GraphImporter::materializeParam(llvm::StringRef paramName,
                                      const onnx::TensorProto &tensor, bool transposed,
                                      llvm::StringRef why) {
  Value &param = paramValues[paramName];
  if (!param) {
    Location at = NameLoc::get(builder.getStringAttr(paramName));
    SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
    if (transposed)
      std::swap(shape[0], shape[1]);
    auto type = RankedTensorType::get(shape, elementTypeOf(tensor.data_type(), context));
    bool trainable = true;
    for (size_t i = 0; i < frozen.size(); ++i)
      if (frozen[i].match(paramName) || frozen[i].match(tensor.name())) {
        frozenUsed[i] = true;
        trainable = false;
      }
    auto op = ParamOp::create(builder, at, type, paramName, trainable);
    if (paramName != tensor.name())
      op->setAttr("onnx_name", builder.getStringAttr(tensor.name()));
    params[paramName] = {&tensor, transposed};
    plan.summary.weights.push_back(
        {tensor.name(), paramName.str(), type.getNumElements(),
         trainable ? why.str() : "--frozen", trainable});
    param = op;
  }
  if (!transposed)
    return param;
  // The ONNX graph multiplies by W^T; off-fuse-llm folds this transpose
  // into the matmul's transpose_rhs.
  Value &view = transposedViews[paramName];
  if (!view)
    view = TransposeOp::create(builder, param.getLoc(), param, ArrayRef<int64_t>{1, 0});
  return view;
}

Value GraphImporter::materializeInitializer(llvm::StringRef name) {
  const onnx::TensorProto &tensor = *initializers[name];
  const InitializerPlan &planned = plan.initializers[name];
  if (planned.isParam) {
    llvm::StringRef paramName = planned.paramName;
    if (!planned.byScope.empty() && currentNode)
      if (auto scope = moduleScope(*currentNode))
        if (auto own = planned.byScope.find(scope->path); own != planned.byScope.end())
          paramName = own->second;
    return materializeParam(paramName, tensor, planned.transposed, planned.why);
  }
  Location at = NameLoc::get(builder.getStringAttr(name));
  auto value = file.readTensor(tensor, context);
  if (!value) {
    if (failure.empty())
      failure = llvm::toString(value.takeError());
    else
      llvm::consumeError(value.takeError());
    return nullptr;
  }
  return ConstantOp::create(builder, at, value->toAttr());
}

llvm::Error GraphImporter::declareInputs(func::FuncOp func, SmallVectorImpl<Type> &types) {
  llvm::StringSet<> graphInputs;
  std::string inputList;
  for (const auto &input : file.graph().input()) {
    if (initializers.count(input.name()))
      continue; // old exporters list initializers as inputs too
    graphInputs.insert(input.name());
    inputList += (inputList.empty() ? "" : ", ") + input.name();
  }
  for (const auto &entry : options.inputShapes)
    if (!graphInputs.contains(entry.getKey()))
      return file.error("--shape names '" + entry.getKey() +
                        "', which is not an input of the model (inputs: " + inputList +
                        ")");
  for (const auto &input : file.graph().input()) {
    if (initializers.count(input.name()))
      continue;
    const std::string &name = input.name();
    if (!input.type().has_tensor_type())
      return file.error("input '" + name + "' is not a tensor");
    const auto &tensorType = input.type().tensor_type();
    Type element = elementTypeOf(tensorType.elem_type(), context);
    if (!element)
      return file.error("input '" + name + "' has element type " +
                        onnxTypeName(tensorType.elem_type()) +
                        ", which off does not support");
    SmallVector<int64_t> shape;
    auto given = options.inputShapes.find(name);
    const auto &dims = tensorType.shape().dim();
    if (given != options.inputShapes.end()) {
      if (tensorType.has_shape() && given->second.size() != static_cast<size_t>(dims.size()))
        return file.error("--shape " + name + " gives " +
                          llvm::Twine(given->second.size()) + " dimensions, the input has " +
                          llvm::Twine(dims.size()));
      for (int d = 0; d < dims.size() && tensorType.has_shape(); ++d)
        if (dims[d].has_dim_value() && dims[d].dim_value() != given->second[d])
          return file.error("--shape " + name + " gives dimension " + llvm::Twine(d) +
                            " as " + llvm::Twine(given->second[d]) +
                            ", the model fixes it to " + llvm::Twine(dims[d].dim_value()));
      shape.assign(given->second.begin(), given->second.end());
    } else {
      if (!tensorType.has_shape())
        return file.error("input '" + name + "' has no shape; give it with --shape " +
                          name + "=DxD...");
      for (int d = 0; d < dims.size(); ++d) {
        if (!dims[d].has_dim_value() || dims[d].dim_value() < 1) {
          std::string label = dims[d].has_dim_param() ? " ('" + dims[d].dim_param() + "')" : "";
          return file.error("input '" + name + "' has a dynamic dimension " +
                            llvm::Twine(d) + label +
                            "; give its static shape with --shape " + name +
                            "=DxD... (e.g. --shape " + name + "=2x128)");
        }
        shape.push_back(dims[d].dim_value());
      }
    }
    // Token ids are 32-bit in off (as the built-in Llama's input_ids).
    if (element.isInteger(64)) {
      element = builder.getI32Type();
      narrowedInputs.insert(name);
    }
    types.push_back(RankedTensorType::get(shape, element));
  }
  func.setType(builder.getFunctionType(types, {}));
  Block *entry = func.addEntryBlock();
  unsigned index = 0;
  for (const auto &input : file.graph().input()) {
    if (initializers.count(input.name()))
      continue;
    func.setArgAttr(index, "off.name", builder.getStringAttr(input.name()));
    values[input.name()] = entry->getArgument(index++);
  }
  builder.setInsertionPointToEnd(entry);
  return llvm::Error::success();
}

llvm::Error GraphImporter::finishOutputs(func::FuncOp func) {
  SmallVector<Value> results;
  SmallVector<Type> types;
  for (const auto &output : file.graph().output()) {
    Value value = lookup(output.name(), /*asIndices=*/true);
    if (!value)
      return file.error("graph output '" + output.name() + "' is not computed");
    auto type = cast<RankedTensorType>(value.getType());
    if (output.type().has_tensor_type()) {
      const auto &declared = output.type().tensor_type();
      Type element = elementTypeOf(declared.elem_type(), context);
      if (element && element != type.getElementType() && !narrowedInputs.contains(output.name()))
        return file.error("graph output '" + output.name() + "' is declared " +
                          onnxTypeName(declared.elem_type()) + " but computes " +
                          llvm::Twine(type.getElementType().isF32() ? "FLOAT" : "another type"));
      const auto &dims = declared.shape().dim();
      if (declared.has_shape() && dims.size() == type.getRank())
        for (int d = 0; d < dims.size(); ++d)
          if (dims[d].has_dim_value() && dims[d].dim_value() != type.getDimSize(d))
            return file.error("graph output '" + output.name() + "' is declared with " +
                              "dimension " + llvm::Twine(d) + " = " +
                              llvm::Twine(dims[d].dim_value()) + " but computes " +
                              llvm::Twine(type.getDimSize(d)));
    }
    results.push_back(value);
    types.push_back(type);
  }
  func::ReturnOp::create(builder, currentLoc, results);
  func.setType(builder.getFunctionType(func.getArgumentTypes(), types));
  unsigned index = 0;
  for (const auto &output : file.graph().output())
    func.setResultAttr(index++, "off.name", builder.getStringAttr(output.name()));
  return llvm::Error::success();
}

llvm::Expected<OwningOpRef<ModuleOp>> GraphImporter::run() {
  const llvm::StringMap<OpHandler> &handlers = allHandlers();
  for (const auto &init : file.graph().initializer())
    initializers[init.name()] = &init;
  auto planned = planInitializers(file, options, context);
  if (!planned)
    return planned.takeError();
  plan = std::move(*planned);
  for (const std::string &pattern : options.frozen) {
    auto glob = llvm::GlobPattern::create(pattern);
    if (!glob)
      return file.error("--frozen '" + pattern + "': " + llvm::toString(glob.takeError()));
    frozen.push_back(std::move(*glob));
  }
  frozenUsed.assign(frozen.size(), false);

  Location top = NameLoc::get(builder.getStringAttr(file.path()));
  OwningOpRef<ModuleOp> module = ModuleOp::create(top);
  module->getOperation()->setAttr(
      "off.source",
      builder.getDictionaryAttr({
          builder.getNamedAttr("model", builder.getStringAttr("onnx")),
          builder.getNamedAttr("file", builder.getStringAttr(file.path())),
          builder.getNamedAttr("opset", builder.getI64IntegerAttr(file.opset())),
          builder.getNamedAttr("producer",
                               builder.getStringAttr(file.model().producer_name() + " " +
                                                     file.model().producer_version())),
      }));
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, top, "forward", builder.getFunctionType({}, {}));
  SmallVector<Type> inputTypes;
  if (llvm::Error error = declareInputs(func, inputTypes))
    return std::move(error);

  for (const onnx::NodeProto &node : file.graph().node()) {
    std::string label = node.name().empty() ? (node.output_size() ? node.output(0) : "")
                                            : node.name();
    currentLoc = NameLoc::get(builder.getStringAttr(label));
    currentNode = &node;
    // Identity copies that are weights of their own are declared on use.
    if (node.op_type() == "Identity" && node.output_size() == 1 &&
        plan.aliases.count(node.output(0)))
      continue;
    NodeContext ctx(*this, node);
    bool onnxDomain = node.domain().empty() || node.domain() == "ai.onnx";
    auto handler = handlers.find(node.op_type());
    if (!onnxDomain || handler == handlers.end()) {
      std::string op = onnxDomain ? node.op_type() : node.domain() + "." + node.op_type();
      int64_t version = file.opset();
      for (const auto &import : file.model().opset_import())
        if (!onnxDomain && import.domain() == node.domain())
          version = import.version();
      return file.error("node '" + label + "' (" + op + ", opset " + llvm::Twine(version) +
                        ") is not supported; the importer translates these ONNX ops: " +
                        llvm::join(supportedOnnxOps(), ", "));
    }
    // Materialise every input first, so a handler never sees a missing one.
    for (unsigned i = 0; i < ctx.numInputs(); ++i) {
      if (!ctx.hasInput(i) || lookup(node.input(i), /*asIndices=*/true))
        continue;
      if (failure.empty() && deferredIsNan.count(node.input(i)) && node.op_type() != "Where")
        (void)ctx.fail("reads '" + node.input(i) +
                       "', an IsNaN of a computed value: the importer accepts IsNaN "
                       "only in the guard Where(IsNaN(softmax), 0, softmax)");
      if (failure.empty() && !deferredIsNan.count(node.input(i)))
        failure = (file.path() + ": '" + node.input(i) + "' is not defined").str();
      if (!failure.empty())
        return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
    }
    if (failed(handler->second(ctx)))
      return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
    for (const std::string &output : node.output()) {
      if (output.empty() || values.count(output) || deferredIsNan.count(output))
        continue;
      (void)ctx.fail("output '" + output + "' was not produced");
      return llvm::createStringError(llvm::inconvertibleErrorCode(), failure);
    }
  }
  currentNode = nullptr;
  if (llvm::Error error = finishOutputs(func))
    return std::move(error);
  for (size_t i = 0; i < frozen.size(); ++i)
    if (!frozenUsed[i])
      return file.error("--frozen '" + options.frozen[i] +
                        "' matches no weight of the model");
  if (failed(verify(*module)))
    return file.error("internal error: the imported graph does not verify (diagnostics "
                      "above); please report it with the model");
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

const llvm::StringMap<OpHandler> &onnx_import::allHandlers() {
  static const llvm::StringMap<OpHandler> handlers = [] {
    llvm::StringMap<OpHandler> map;
    addElementwiseHandlers(map);
    addShapeHandlers(map);
    addConstantHandlers(map);
    addFusedHandlers(map);
    return map;
  }();
  return handlers;
}

llvm::SmallVector<std::string> mlir::off::supportedOnnxOps() {
  llvm::SmallVector<std::string> names;
  for (const auto &entry : allHandlers())
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}

/// The weights of the module's params, each checked readable now so that
/// writing them later cannot fail.
static llvm::Expected<std::shared_ptr<OnnxWeights>>
collectWeights(ModuleOp module, const GraphImporter &importer,
               std::unique_ptr<OnnxModelFile> file) {
  std::vector<OnnxWeights::Entry> entries;
  llvm::Error error = llvm::Error::success();
  module.walk([&](ParamOp param) {
    if (error)
      return WalkResult::interrupt();
    auto source = importer.paramSources().find(param.getName());
    if (source == importer.paramSources().end()) {
      error = file->error("internal error: param '" + param.getName() +
                          "' has no initializer");
      return WalkResult::interrupt();
    }
    const onnx::TensorProto &tensor = *source->second.tensor;
    auto raw = file->rawBytes(tensor);
    if (!raw) {
      error = raw.takeError();
      return WalkResult::interrupt();
    }
    OnnxWeights::Entry entry;
    entry.name = param.getName().str();
    entry.onnxName = tensor.name();
    entry.shape.assign(param.getType().getShape().begin(),
                       param.getType().getShape().end());
    entry.transposed = source->second.transposed;
    entry.tensor = &tensor;
    entry.raw = *raw;
    entries.push_back(std::move(entry));
    return WalkResult::advance();
  });
  if (error)
    return std::move(error);
  return std::make_shared<OnnxWeights>(std::move(file), std::move(entries));
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::off::importOnnxModel(MLIRContext &context, const OnnxImportOptions &options,
                           std::shared_ptr<OnnxWeights> *weights,
                           OnnxImportSummary *summary) {
  context.loadDialect<OffDialect, func::FuncDialect>();
  std::string notes;
  auto file = OnnxModelFile::load(options.modelPath, notes, options.modelContents);
  if (!file)
    return file.takeError();
  emitRemark(UnknownLoc::get(&context)) << options.modelPath << ": " << notes;
  GraphImporter importer(context, **file, options);
  auto module = importer.run();
  if (!module)
    return module.takeError();
  if (summary)
    *summary = importer.takeSummary();
  // Every param's bytes are checked (a missing external data file is an
  // error here, not when offrt starts), and kept for --weights-out.
  auto collected = collectWeights(**module, importer, std::move(*file));
  if (!collected)
    return collected.takeError();
  if (weights)
    *weights = std::move(*collected);
  return module;
}
