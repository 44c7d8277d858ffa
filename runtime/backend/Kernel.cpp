#include "runtime/backend/Kernel.h"

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace off::backend {

int64_t TensorArg::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t TensorArg::dim(int64_t i) const {
  int64_t r = rank();
  int64_t index = i < 0 ? i + r : i;
  if (index < 0 || index >= r)
    throw std::invalid_argument("dimension " + std::to_string(i) + " of a rank-" +
                                std::to_string(r) + " tensor");
  return shape[size_t(index)];
}

std::string TensorArg::describe() const {
  std::string text = std::string(dtypeName(dtype)) + "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const AttrValue *KernelAttrs::find(const std::string &name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void missing(const std::string &name) {
  throw std::invalid_argument("attribute '" + name + "' is missing");
}
[[noreturn]] void wrongKind(const std::string &name, const char *kind) {
  throw std::invalid_argument("attribute '" + name + "' must be " + kind);
}
} // namespace

int64_t KernelAttrs::getInt(const std::string &name) const {
  const AttrValue *value = find(name);
  if (!value)
    missing(name);
  if (auto *i = std::get_if<int64_t>(value))
    return *i;
  wrongKind(name, "an integer");
}

int64_t KernelAttrs::getInt(const std::string &name, int64_t fallback) const {
  return has(name) ? getInt(name) : fallback;
}

double KernelAttrs::getFloat(const std::string &name) const {
  const AttrValue *value = find(name);
  if (!value)
    missing(name);
  if (auto *f = std::get_if<double>(value))
    return *f;
  if (auto *i = std::get_if<int64_t>(value))
    return double(*i);
  wrongKind(name, "a number");
}

double KernelAttrs::getFloat(const std::string &name, double fallback) const {
  return has(name) ? getFloat(name) : fallback;
}

bool KernelAttrs::getBool(const std::string &name, bool fallback) const {
  const AttrValue *value = find(name);
  if (!value)
    return fallback;
  if (auto *b = std::get_if<bool>(value))
    return *b;
  wrongKind(name, "a bool");
}

std::vector<int64_t> KernelAttrs::getInts(const std::string &name) const {
  std::span<const int64_t> ints = intsView(name);
  return {ints.begin(), ints.end()};
}

std::span<const int64_t> KernelAttrs::intsView(const std::string &name) const {
  const AttrValue *value = find(name);
  if (!value)
    missing(name);
  if (auto *ints = std::get_if<std::vector<int64_t>>(value))
    return *ints;
  wrongKind(name, "a list of integers");
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

void KernelTable::add(const std::string &op, KernelEntry entry) {
  if (!entry.validate || !entry.run)
    throw std::logic_error("kernel '" + op + "' registered without validate/run");
  if (!entries_.emplace(op, entry).second)
    throw std::logic_error("kernel '" + op + "' registered twice in the " + backend_ +
                           " backend");
}

const KernelEntry *KernelTable::find(std::string_view op) const {
  auto it = entries_.find(op);
  return it == entries_.end() ? nullptr : &it->second;
}

const KernelEntry &KernelTable::get(std::string_view op) const {
  if (const KernelEntry *entry = find(op))
    return *entry;
  throw std::invalid_argument("the " + backend_ + " backend has no kernel for '" +
                              std::string(op) + "'");
}

void KernelTable::addAll(const KernelTable &other) {
  for (const auto &[op, entry] : other.entries_)
    add(op, entry);
}

std::vector<std::string> KernelTable::ops() const {
  std::vector<std::string> names;
  for (const auto &entry : entries_)
    names.push_back(entry.first);
  return names;
}

namespace {
// Prefixes the op's name to a message that does not start with it already.
std::string withOp(std::string_view op, const std::exception &error) {
  std::string message = error.what();
  std::string prefix = std::string(op) + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0)
    return message;
  return prefix + message;
}
} // namespace

void KernelTable::validate(std::string_view op, std::span<const TensorArg> inputs,
                           std::span<const TensorArg> outputs,
                           const KernelAttrs &attrs) const {
  const KernelEntry &entry = get(op);
  KernelCall call{op, inputs, outputs, attrs};
  try {
    entry.validate(call);
  } catch (const std::invalid_argument &error) {
    throw std::invalid_argument(withOp(op, error));
  }
}

namespace {
uint64_t workspaceOf(const KernelEntry &entry, const KernelCall &call) {
  return entry.workspace ? entry.workspace(call) : 0;
}

void runEntry(const KernelEntry &entry, const KernelCall &call) {
  std::string_view op = call.op;
  for (const auto *list : {&call.inputs, &call.outputs})
    for (const TensorArg &t : *list)
      if (!t.data && t.numel() != 0)
        throw std::invalid_argument(std::string(op) + ": null data pointer for " + t.describe());
  try {
    entry.run(call);
  } catch (const std::invalid_argument &error) {
    throw std::invalid_argument(withOp(op, error));
  } catch (const std::exception &error) { // data errors (ids out of range, ...)
    throw std::runtime_error(withOp(op, error));
  }
}
} // namespace

void KernelTable::call(std::string_view op, std::span<const TensorArg> inputs,
                       std::span<const TensorArg> outputs, const KernelAttrs &attrs) const {
  validate(op, inputs, outputs, attrs);
  const KernelEntry &entry = get(op);
  KernelCall call{op, inputs, outputs, attrs};
  uint64_t bytes = workspaceOf(entry, call);
  std::unique_ptr<std::byte, decltype(&std::free)> scratch(
      bytes ? static_cast<std::byte *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)) : nullptr,
      &std::free);
  if (bytes && !scratch)
    throw std::bad_alloc();
  call.workspace = {scratch.get(), size_t(bytes)};
  runEntry(entry, call);
}

BoundKernel::BoundKernel(const KernelTable &table, std::string op, std::vector<TensorArg> inputs,
                         std::vector<TensorArg> outputs, KernelAttrs attrs)
    : entry_(&table.get(op)), op_(std::move(op)), inputs_(std::move(inputs)),
      outputs_(std::move(outputs)), attrs_(std::move(attrs)) {
  table.validate(op_, inputs_, outputs_, attrs_);
  workspaceBytes_ = workspaceOf(*entry_, KernelCall{op_, inputs_, outputs_, attrs_});
  callInputs_ = inputs_;
  callOutputs_ = outputs_;
}

void BoundKernel::run(std::span<void *const> inputData, std::span<void *const> outputData,
                      std::span<std::byte> workspace, const StepContext *step,
                      Stream *stream) const {
  if (inputData.size() != inputs_.size() || outputData.size() != outputs_.size())
    throw std::invalid_argument(op_ + ": bound to " + std::to_string(inputs_.size()) +
                                " input(s) and " + std::to_string(outputs_.size()) +
                                " output(s), run with " + std::to_string(inputData.size()) +
                                " and " + std::to_string(outputData.size()));
  if (workspace.size() < workspaceBytes_)
    throw std::invalid_argument(op_ + ": needs " + std::to_string(workspaceBytes_) +
                                " bytes of workspace, given " +
                                std::to_string(workspace.size()));
  std::lock_guard<std::mutex> lock(callMutex_);
  for (size_t i = 0; i < callInputs_.size(); ++i)
    callInputs_[i].data = inputData[i];
  for (size_t i = 0; i < callOutputs_.size(); ++i)
    callOutputs_[i].data = outputData[i];
  runEntry(*entry_, KernelCall{op_, callInputs_, callOutputs_, attrs_, workspace, step, stream});
}

} // namespace off::backend
