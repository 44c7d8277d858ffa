//===- LowerToPlan.cpp - one step function to a plan.bin message ----------===//

#include "compiler/Plan/LowerToPlan.h"

#include "compiler/Plan/BufferAssignment.h"
#include "dialects/off/IR/OffDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <map>

using namespace mlir;
using namespace mlir::off;

namespace {

std::optional<plan::DType> toPlanDType(Type type) {
  if (type.isF32()) return plan::F32;
  if (type.isBF16()) return plan::BF16;
  if (type.isF16()) return plan::F16;
  if (type.isInteger(32)) return plan::I32;
  if (type.isInteger(64)) return plan::I64;
  return std::nullopt;
}

// Builds the tensor table and the compute stream while walking the function.
class Lowering {
public:
  Lowering(func::FuncOp step, const PlanOptions &options)
      : step(step), options(options) {}

  FailureOr<plan::Plan> run();

private:
  FailureOr<uint32_t> addTensor(Value value, StringRef name, plan::Role role);
  LogicalResult lowerOp(Operation *op);
  void useValue(Value value) {
    int64_t &last = lastUse[storage[valueTensor.lookup(value)]];
    last = std::max(last, index);
  }
  static void convertAttrs(Operation *op, plan::Kernel &kernel);
  void moveOptimizerToItsStream();

  func::FuncOp step;
  const PlanOptions &options;
  plan::Plan result;
  plan::Stream *compute = nullptr;
  llvm::DenseMap<Value, uint32_t> valueTensor;
  std::vector<int64_t> firstUse, lastUse;
  // The tensor whose bytes each tensor uses: itself, or for the result of a
  // reshape (a view: same bytes, another shape) the tensor it views. Only
  // storage roots get buffers; uses of a view keep its root alive.
  std::vector<uint32_t> storage;
  int64_t index = 0; // instruction index in the compute stream
  unsigned activationCount = 0;
};

FailureOr<uint32_t> Lowering::addTensor(Value value, StringRef name,
                                        plan::Role role) {
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
  valueTensor[value] = id;
  bool persistent = role != plan::ACTIVATION;
  firstUse.push_back(persistent ? 0 : index);
  lastUse.push_back(persistent ? INT64_MAX : index);
  storage.push_back(id);
  return id;
}

void Lowering::convertAttrs(Operation *op, plan::Kernel &kernel) {
  for (NamedAttribute named : op->getAttrDictionary()) {
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

LogicalResult Lowering::lowerOp(Operation *op) {
  if (auto param = dyn_cast<ParamOp>(op)) {
    auto id = addTensor(param, param.getName(), plan::PARAM);
    if (failed(id))
      return failure();
    result.mutable_tensors(*id)->set_hf_name(param.getName().str());
    result.mutable_tensors(*id)->set_trainable(param.getTrainable());
    return success();
  }
  if (op->getName().getStringRef() == "off.state") {
    auto name = op->getAttrOfType<StringAttr>("name");
    return failure(!name ||
                   failed(addTensor(op->getResult(0), name, plan::OPTIMIZER_STATE)));
  }
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
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
      uint32_t id = valueTensor.lookup(value);
      plan::Tensor *tensor = result.mutable_tensors(id);
      if (tensor->role() != plan::ACTIVATION)
        return ret.emitError("returned value #")
               << i << " is not a value computed by the step; the runtime "
                  "reads outputs from their own buffers";
      tensor->set_role(plan::OUTPUT);
      lastUse[storage[id]] = INT64_MAX;
      tensor->set_name(i < options.outputNames.size()
                           ? options.outputNames[i]
                           : "output." + std::to_string(i));
    }
    return success();
  }
  if (op->getDialect() == nullptr ||
      op->getDialect()->getNamespace() != OffDialect::getDialectNamespace())
    return op->emitError("cannot lower '") << op->getName()
                                           << "': only off ops have kernels";

  if (auto reshape = dyn_cast<ReshapeOp>(op)) { // a view, no kernel
    uint32_t source = valueTensor.lookup(reshape->getOperand(0));
    useValue(reshape->getOperand(0));
    auto id = addTensor(reshape->getResult(0),
                        "act." + std::to_string(activationCount++),
                        plan::ACTIVATION);
    if (failed(id))
      return failure();
    storage[*id] = storage[source];
    return success();
  }

  plan::Kernel *kernel = compute->add_instructions()->mutable_kernel();
  kernel->set_op(op->getName().stripDialect().str());
  for (Value operand : op->getOperands()) {
    kernel->add_inputs(valueTensor.lookup(operand));
    useValue(operand);
  }
  auto adam = dyn_cast<AdamStepOp>(op);
  if (adam)
    result.mutable_tensors(valueTensor.lookup(adam.getGrad()))->set_role(plan::GRAD);
  for (auto [i, value] : llvm::enumerate(op->getResults())) {
    if (adam) { // updates param, exp_avg, exp_avg_sq in place
      Value storage = op->getOperand(i == 0 ? 0 : i + 1);
      valueTensor[value] = valueTensor.lookup(storage);
      kernel->add_outputs(valueTensor.lookup(storage));
      continue;
    }
    auto id = addTensor(value, "act." + std::to_string(activationCount++),
                        plan::ACTIVATION);
    if (failed(id))
      return failure();
    kernel->add_outputs(*id);
  }
  convertAttrs(op, *kernel);
  ++index;
  return success();
}

// Moves every adam_step to a host-optimizer stream. Each waits for an event
// the compute stream records right after the last instruction it must follow
// (the gradient's last write, the parameter's and moments' last access),
// so the update of one layer runs while the compute stream goes on with the
// backward of the layers before it. The updates are ordered by that point;
// their operands stay allocated to the end of the step, since they are read
// asynchronously.
void Lowering::moveOptimizerToItsStream() {
  struct Update {
    plan::Instruction instruction;
    int64_t after; // index in the new compute stream; -1: depends on nothing
  };
  std::vector<Update> updates;
  std::vector<plan::Instruction> kept;
  std::vector<int64_t> lastAccess(result.tensors_size(), -1);
  std::vector<int64_t> lastWrite(result.tensors_size(), -1);
  for (const plan::Instruction &instruction : compute->instructions()) {
    const plan::Kernel &kernel = instruction.kernel();
    if (kernel.op() == "adam_step") {
      updates.push_back({instruction, -1});
      plan::Kernel &update = *updates.back().instruction.mutable_kernel();
      if (!update.attrs().count("max_grad_norm") && update.inputs_size() == 5)
        update.mutable_inputs()->RemoveLast(); // without clipping, the norm is unused
      int64_t &after = updates.back().after;
      // It writes param and moments (its outputs share their storage):
      // those wait for every earlier access; what it only reads (the
      // gradient, the norm) waits for the last write.
      for (auto [i, id] : llvm::enumerate(update.inputs())) {
        bool written = i == 0 || i == 2 || i == 3;
        after = std::max(after, written ? lastAccess[storage[id]] : lastWrite[storage[id]]);
        lastUse[storage[id]] = INT64_MAX;
      }
      continue;
    }
    for (uint32_t id : kernel.inputs())
      lastAccess[storage[id]] = int64_t(kept.size());
    for (uint32_t id : kernel.outputs())
      lastAccess[storage[id]] = lastWrite[storage[id]] = int64_t(kept.size());
    kept.push_back(instruction);
  }
  if (updates.empty())
    return;
  std::stable_sort(updates.begin(), updates.end(),
                   [](const Update &a, const Update &b) { return a.after < b.after; });
  std::map<int64_t, uint32_t> eventAfter; // compute index -> event
  for (const Update &update : updates)
    if (update.after >= 0 && !eventAfter.count(update.after))
      eventAfter.emplace(update.after, uint32_t(eventAfter.size()));
  compute->clear_instructions();
  for (size_t i = 0; i < kept.size(); ++i) {
    *compute->add_instructions() = kept[i];
    if (auto it = eventAfter.find(int64_t(i)); it != eventAfter.end())
      compute->add_instructions()->set_record_event(it->second);
  }
  plan::Stream *optimizer = result.add_streams();
  optimizer->set_kind(plan::HOST_OPTIMIZER);
  int64_t waitedFor = -1;
  for (const Update &update : updates) {
    if (update.after > waitedFor) {
      optimizer->add_instructions()->set_wait_event(eventAfter.at(update.after));
      waitedFor = update.after;
    }
    *optimizer->add_instructions() = update.instruction;
  }
  result.set_num_events(uint32_t(eventAfter.size()));
}

FailureOr<plan::Plan> Lowering::run() {
  if (!step.getBody().hasOneBlock())
    return step.emitError("the step function must have a single block");
  result.set_format_version(plan::kFormatVersion);
  result.set_producer(options.producer);
  *result.mutable_model() = options.model;
  *result.mutable_hyper() = options.hyper;
  plan::Tier *device = result.add_tiers();
  device->set_kind(plan::TIER_DEVICE);
  device->set_budget_bytes(options.deviceBudget);
  compute = result.add_streams();
  compute->set_kind(plan::COMPUTE);

  for (BlockArgument arg : step.getArguments())
    if (failed(addTensor(arg,
                         arg.getArgNumber() < options.inputNames.size()
                             ? options.inputNames[arg.getArgNumber()]
                             : "input." + std::to_string(arg.getArgNumber()),
                         plan::INPUT)))
      return failure();
  for (Operation &op : step.getBody().front())
    if (failed(lowerOp(&op)))
      return failure();
  if (options.optimizerStream)
    moveOptimizerToItsStream();

  // Everything lives in one device arena; persistent tensors span the step.
  std::vector<BufferRequest> requests;
  std::vector<size_t> requestOf(result.tensors_size());
  for (int id = 0; id < result.tensors_size(); ++id) {
    if (storage[id] != uint32_t(id))
      continue;
    requestOf[id] = requests.size();
    requests.push_back({result.tensors(id).size_bytes(), firstUse[id],
                        std::min<int64_t>(lastUse[id], index)});
  }
  BufferLayout layout = assignBuffers(requests, options.alignment);
  plan::Arena *arena = result.add_arenas();
  arena->set_tier(0);
  arena->set_alignment(options.alignment);
  arena->set_size_bytes(layout.arenaSize);
  for (int id = 0; id < result.tensors_size(); ++id) {
    result.mutable_tensors(id)->set_arena(0);
    result.mutable_tensors(id)->set_offset(layout.offsets[requestOf[storage[id]]]);
  }
  if (options.deviceBudget && layout.arenaSize > options.deviceBudget)
    return step.emitError("the plan needs ")
           << layout.arenaSize << " bytes of device memory, over the budget of "
           << options.deviceBudget
           << " bytes; offloading to fit a budget arrives with the planner ([D])";
  std::vector<std::string> problems = plan::validatePlan(result);
  if (!problems.empty())
    return step.emitError("internal error, the lowered plan is invalid: ")
           << problems.front();
  return result;
}

} // namespace

FailureOr<plan::Plan> mlir::off::lowerToPlan(func::FuncOp step,
                                             const PlanOptions &options) {
  return Lowering(step, options).run();
}
