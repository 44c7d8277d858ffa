//===- SerializePlan.cpp - a scheduled step to a plan.bin message ---------===//

#include "compiler/Plan/SerializePlan.h"

#include "compiler/Plan/PlanFacts.h"

#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::off;

namespace {

plan::TierKind planTier(Tier tier) {
  switch (tier) {
  case Tier::device: return plan::TIER_DEVICE;
  case Tier::host: return plan::TIER_HOST;
  case Tier::nvme: return plan::TIER_NVME;
  }
  return plan::TIER_UNSPECIFIED;
}

plan::StreamKind planStream(Stream stream) {
  switch (stream) {
  case Stream::compute: return plan::COMPUTE;
  case Stream::h2d: return plan::H2D;
  case Stream::d2h: return plan::D2H;
  case Stream::nvme_read: return plan::NVME_READ;
  case Stream::nvme_write: return plan::NVME_WRITE;
  case Stream::host_optimizer: return plan::HOST_OPTIMIZER;
  }
  return plan::STREAM_UNSPECIFIED;
}

/// Ops that run no instruction: declarations and views.
bool runsNothing(Operation *op) {
  return isa<ParamOp, StateOp, ConstantOp, ReshapeOp, FreeOp>(op) ||
         op->hasTrait<mlir::OpTrait::IsTerminator>();
}

class Serializer {
public:
  Serializer(func::FuncOp step, const SerializeOptions &options)
      : step(step), options(options) {}
  FailureOr<plan::Plan> run();

private:
  FailureOr<uint32_t> addTensor(Value value, StringRef name, plan::Role role);
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerReturn(func::ReturnOp ret);
  void addKernel(Operation *op);
  std::string copyName(Value input, Tier tier);
  plan::Stream &stream(Operation *op);
  uint32_t eventOf(Value token);

  func::FuncOp step;
  const SerializeOptions &options;
  plan::Plan result;
  llvm::DenseMap<Value, uint32_t> valueTensor;
  llvm::DenseMap<Value, uint64_t> offsetOf; // from off.offsets / off.arg_offsets
  llvm::DenseMap<unsigned, int> tierIndex;   // Tier -> plan tier (= arena)
  llvm::DenseMap<unsigned, int> streamIndex; // Stream -> plan stream
  llvm::DenseMap<Value, uint32_t> events;    // waited tokens -> event id
  llvm::StringMap<unsigned> copies;          // copy names given so far
  unsigned activationCount = 0;
};

FailureOr<uint32_t> Serializer::addTensor(Value value, StringRef name, plan::Role role) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  std::optional<plan::DType> dtype =
      type ? toPlanDType(type.getElementType()) : std::nullopt;
  if (!type || !type.hasStaticShape() || !dtype)
    return emitError(value.getLoc())
           << "cannot lower a value of type " << value.getType()
           << " (static f32/bf16/f16/i32/i64 tensors only)";
  auto id = static_cast<uint32_t>(result.tensors_size());
  plan::Tensor *tensor = result.add_tensors();
  tensor->set_name(name.str());
  tensor->set_role(role);
  tensor->set_dtype(*dtype);
  for (int64_t dim : type.getShape())
    tensor->add_shape(dim);
  tensor->set_size_bytes(type.getNumElements() * plan::dtypeSize(*dtype));
  tensor->set_arena(tierIndex.lookup(static_cast<unsigned>(getTier(type))));
  tensor->set_offset(offsetOf.lookup(value));
  valueTensor[value] = id;
  return id;
}

std::string Serializer::copyName(Value input, Tier tier) {
  std::string base = result.tensors(valueTensor.lookup(input)).name();
  base = base.substr(0, base.find('@'));
  std::string name = base + "@" + stringifyTier(tier).str();
  unsigned n = ++copies[name];
  return n == 1 ? name : name + "." + std::to_string(n);
}

plan::Stream &Serializer::stream(Operation *op) {
  return *result.mutable_streams(streamIndex.lookup(static_cast<unsigned>(getStream(op))));
}

uint32_t Serializer::eventOf(Value token) {
  auto [it, added] = events.try_emplace(token, uint32_t(events.size()));
  return it->second;
}

void Serializer::addKernel(Operation *op) {
  plan::Kernel *kernel = stream(op).add_instructions()->mutable_kernel();
  kernel->set_op(op->getName().stripDialect().str());
  auto adam = dyn_cast<AdamStepOp>(op);
  for (Value operand : op->getOperands())
    if (!adam || operand != adam.getComputeCopy()) // the copy is only written
      kernel->add_inputs(valueTensor.lookup(operand));
  for (Value value : op->getResults())
    kernel->add_outputs(valueTensor.lookup(value));
  addKernelAttrs(op, *kernel);
  // Its workspace, placed by off-assign-buffers (off.workspace = [offset,
  // bytes] in the tier of its operands), as a tensor of its own.
  if (auto workspace = op->getAttrOfType<DenseI64ArrayAttr>("off.workspace");
      workspace && workspace.size() == 2 && workspace[1] > 0) {
    auto id = static_cast<uint32_t>(result.tensors_size());
    plan::Tensor *tensor = result.add_tensors();
    tensor->set_name("ws." + std::to_string(id));
    tensor->set_role(plan::WORKSPACE);
    tensor->set_dtype(plan::U8);
    tensor->add_shape(workspace[1]);
    tensor->set_size_bytes(uint64_t(workspace[1]));
    Value first = op->getNumOperands() ? op->getOperand(0) : op->getResult(0);
    tensor->set_arena(tierIndex.lookup(static_cast<unsigned>(getTier(first.getType()))));
    tensor->set_offset(uint64_t(workspace[0]));
    kernel->set_workspace(id);
  }
}

LogicalResult Serializer::lowerOp(Operation *op) {
  if (auto param = dyn_cast<ParamOp>(op)) {
    auto id = addTensor(param, param.getName(), plan::PARAM);
    if (failed(id))
      return failure();
    plan::Tensor *tensor = result.mutable_tensors(*id);
    tensor->set_trainable(param.getTrainable());
    tensor->set_init(paramInitKind(param));
    if (std::optional<StringRef> master = param.getCopyOf())
      tensor->set_copy_of(master->str()); // derived: no checkpoint name
    else
      tensor->set_hf_name(param.getName().str());
    return success();
  }
  if (auto state = dyn_cast<StateOp>(op))
    return addTensor(state, state.getName(), plan::OPTIMIZER_STATE);
  if (auto constant = dyn_cast<ConstantOp>(op)) {
    auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
    if (!dense)
      return op->emitError("only dense constants can be lowered");
    auto id = addTensor(constant, "const." + std::to_string(result.tensors_size()),
                        plan::CONSTANT);
    if (failed(id))
      return failure();
    plan::Tensor *tensor = result.mutable_tensors(*id);
    ArrayRef<char> raw = dense.getRawData();
    std::string bytes;
    if (dense.isSplat()) // raw data holds one element
      for (int64_t i = 0; i < dense.getNumElements(); ++i)
        bytes.append(raw.data(), raw.size());
    else
      bytes.assign(raw.data(), raw.size());
    if (bytes.size() != tensor->size_bytes())
      return op->emitError("constant data is ")
             << bytes.size() << " bytes, expected " << tensor->size_bytes();
    tensor->set_initial_data(std::move(bytes));
    return success();
  }
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return lowerReturn(ret);
  if (op->getDialect() == nullptr || !isa<OffDialect>(op->getDialect()))
    return op->emitError("cannot lower '") << op->getName()
                                           << "': only off ops have kernels";
  if (isa<ReshapeOp>(op)) // a view, no kernel
    return addTensor(op->getResult(0), "act." + std::to_string(activationCount++),
                     plan::ACTIVATION);
  if (isa<FreeOp>(op))
    return success(); // liveness only; buffers are the plan's offsets
  if (auto record = dyn_cast<RecordOp>(op)) {
    stream(op).add_instructions()->set_record_event(eventOf(record.getToken()));
    return success();
  }
  if (auto wait = dyn_cast<WaitOp>(op)) {
    for (Value token : wait.getTokens())
      stream(op).add_instructions()->set_wait_event(eventOf(token));
    return success();
  }
  if (isa<OffloadOp, PrefetchOp>(op)) {
    Value input = op->getOperand(0), output = op->getResult(0), token = op->getResult(1);
    Value into = op->getNumOperands() > 1 ? op->getOperand(1) : Value();
    if (into) {
      valueTensor[output] = valueTensor.lookup(into);
    } else if (failed(addTensor(output, copyName(input, getTier(output.getType())),
                                plan::ACTIVATION))) {
      return failure();
    }
    plan::Copy *copy = stream(op).add_instructions()->mutable_copy();
    copy->set_src(valueTensor.lookup(input));
    copy->set_dst(valueTensor.lookup(output));
    if (!token.use_empty())
      stream(op).add_instructions()->set_record_event(eventOf(token));
    return success();
  }
  if (auto adam = dyn_cast<AdamStepOp>(op)) { // updates its operands in place
    result.mutable_tensors(valueTensor.lookup(adam.getGrad()))->set_role(plan::GRAD);
    Value storage[] = {adam.getParam(), adam.getExpAvg(), adam.getExpAvgSq(),
                       adam.getComputeCopy()};
    for (unsigned i = 0; i < op->getNumResults(); ++i) // the copy: result 3
      valueTensor[op->getResult(i)] = valueTensor.lookup(storage[i]);
    addKernel(op);
    return success();
  }
  for (Value value : op->getResults())
    if (failed(addTensor(value, "act." + std::to_string(activationCount++),
                         plan::ACTIVATION)))
      return failure();
  addKernel(op);
  return success();
}

LogicalResult Serializer::lowerReturn(func::ReturnOp ret) {
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    uint32_t id = valueTensor.lookup(value);
    plan::Tensor *tensor = result.mutable_tensors(id);
    if (tensor->role() != plan::ACTIVATION)
      return ret.emitError("returned value #")
             << i << " is not a value computed by the step; the runtime "
                "reads outputs from their own buffers";
    tensor->set_role(plan::OUTPUT);
    std::string name = i < options.outputNames.size() ? options.outputNames[i]
                                                      : "output." + std::to_string(i);
    if (auto attr = step.getResultAttrOfType<StringAttr>(i, "off.name"))
      name = attr.str();
    tensor->set_name(name);
  }
  return success();
}

FailureOr<plan::Plan> Serializer::run() {
  if (!step.getBody().hasOneBlock())
    return step.emitError("the step function must have a single block");
  Block &block = step.getBody().front();
  auto sizes = step->getAttrOfType<DictionaryAttr>("off.arena_sizes");
  auto argOffsets = step->getAttrOfType<DenseI64ArrayAttr>("off.arg_offsets");
  if (!sizes || !argOffsets)
    return step.emitError("off-serialize-plan: run off-assign-buffers first "
                          "(no off.arena_sizes / off.arg_offsets)");
  result.set_format_version(plan::kFormatVersion);
  result.set_producer(options.producer);
  *result.mutable_model() = options.model;
  *result.mutable_hyper() = options.hyper;

  // Tiers and arenas: the device first, then host and nvme where used.
  uint64_t budgets[3] = {options.deviceBudget, options.hostBudget, options.nvmeBudget};
  for (Tier tier : {Tier::device, Tier::host, Tier::nvme}) {
    auto size = sizes.getAs<IntegerAttr>(stringifyTier(tier));
    if (!size && tier != Tier::device)
      continue;
    int index = result.tiers_size();
    tierIndex[static_cast<unsigned>(tier)] = index;
    plan::Tier *planTierEntry = result.add_tiers();
    planTierEntry->set_kind(planTier(tier));
    planTierEntry->set_budget_bytes(budgets[static_cast<unsigned>(tier)]);
    plan::Arena *arena = result.add_arenas();
    arena->set_tier(uint32_t(index));
    arena->set_alignment(options.alignment);
    arena->set_size_bytes(size ? uint64_t(size.getInt()) : 0);
  }
  // Streams: compute first, then the others in the order of their kinds.
  llvm::SmallSetVector<unsigned, 8> used;
  used.insert(static_cast<unsigned>(Stream::compute));
  for (Operation &op : block)
    if (!runsNothing(&op))
      used.insert(static_cast<unsigned>(getStream(&op)));
  SmallVector<unsigned> order(used.begin(), used.end());
  llvm::sort(order);
  for (unsigned s : order) {
    streamIndex[s] = result.streams_size();
    result.add_streams()->set_kind(planStream(static_cast<Stream>(s)));
  }

  // Offsets: every value at its storage's.
  for (auto [arg, offset] : llvm::zip(block.getArguments(), argOffsets.asArrayRef()))
    offsetOf[arg] = uint64_t(offset);
  for (Operation &op : block) {
    auto list = op.getAttrOfType<DenseI64ArrayAttr>("off.offsets");
    unsigned next = 0;
    for (Value v : op.getResults())
      if (isa<RankedTensorType>(v.getType())) {
        if (!list || next >= list.size())
          return op.emitError("off-serialize-plan: no off.offsets for result #")
                 << cast<OpResult>(v).getResultNumber()
                 << " (run off-assign-buffers first)";
        offsetOf[v] = uint64_t(list[next++]);
      }
  }

  for (BlockArgument arg : block.getArguments()) {
    unsigned n = arg.getArgNumber();
    std::string name = n < options.inputNames.size() ? options.inputNames[n]
                                                     : "input." + std::to_string(n);
    if (auto attr = step.getArgAttrOfType<StringAttr>(n, "off.name"))
      name = attr.str();
    if (failed(addTensor(arg, name, plan::INPUT)))
      return failure();
  }
  for (Operation &op : block)
    if (failed(lowerOp(&op)))
      return failure();
  result.set_num_events(uint32_t(events.size()));
  std::vector<std::string> problems = plan::validatePlan(result);
  if (!problems.empty())
    return step.emitError("internal error, the lowered plan is invalid: ")
           << problems.front();
  problems = plan::verifyPlanOrder(result);
  if (!problems.empty())
    return step.emitError("internal error, the plan's order is wrong: ")
           << problems.front();
  return result;
}

} // namespace

plan::Model mlir::off::modelOf(func::FuncOp step) {
  plan::Model model;
  model.set_entry(step.getSymName().str());
  model.set_grad_accum(1);
  if (step.getNumArguments() > 0)
    if (auto ids = dyn_cast<RankedTensorType>(step.getArgument(0).getType())) {
      ArrayRef<int64_t> shape = ids.getShape();
      if (shape.size() == 3) {
        model.set_grad_accum(shape[0]);
        shape = shape.drop_front();
      }
      if (shape.size() == 2) {
        model.set_batch(shape[0]);
        model.set_seq(shape[1]);
      }
    }
  step.walk([&](EmbeddingOp embedding) {
    model.set_vocab_size(embedding.getTable().getType().getShape().front());
  });
  if (auto module = step->getParentOfType<ModuleOp>())
    if (auto source = module->getAttrOfType<DictionaryAttr>("off.source")) {
      if (auto name = source.getAs<StringAttr>("model"))
        model.set_name(name.str());
      if (auto config = source.getAs<StringAttr>("config"))
        model.set_config_json(config.str());
      if (auto range = source.getAs<FloatAttr>("initializer_range"))
        model.set_initializer_range(range.getValueAsDouble());
    }
  return model;
}

plan::Hyper mlir::off::hyperOf(func::FuncOp step) {
  plan::Hyper hyper;
  step.walk([&](AdamStepOp adam) {
    hyper.set_lr(adam.getLr().convertToDouble());
    hyper.set_beta1(adam.getBeta1().convertToDouble());
    hyper.set_beta2(adam.getBeta2().convertToDouble());
    hyper.set_eps(adam.getEps().convertToDouble());
    hyper.set_weight_decay(adam.getWeightDecay().convertToDouble());
    if (auto clip = adam.getMaxGradNorm())
      hyper.set_max_grad_norm(clip->convertToDouble());
    return WalkResult::interrupt();
  });
  return hyper;
}

FailureOr<plan::Plan> mlir::off::serializePlan(func::FuncOp step,
                                               const SerializeOptions &options) {
  return Serializer(step, options).run();
}
