// Kernels as every backend provides them: looked up by the name of the off
// op they implement ("rms_norm", "attention_grad", ...) and called with
// tensor arguments (pointer + shape + dtype), the op's attributes, the
// workspace the plan gave the call and the step's changing values. A plan
// loader turns each plan.bin kernel instruction into one BoundKernel; every
// backend (CPU now, CUDA later) fills a KernelTable with the same names and
// the same semantics, and one conformance suite runs against each.
//
// Nothing here is CPU specific: pointers are whatever memory the backend
// computes on. See runtime/backend/README.md for the calling convention.
#pragma once

#include "runtime/common/DType.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <optional>

namespace off {
class ThreadPool;
}

namespace off::backend {

class Stream;

/// One tensor argument: `data` points at numel() elements of `dtype`, dense,
/// row-major, in `shape` order (a rank-0 tensor has one element).
struct TensorArg {
  void *data = nullptr;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;

  int64_t rank() const { return int64_t(shape.size()); }
  int64_t numel() const;
  size_t bytes() const { return size_t(numel()) * dtypeSize(dtype); }
  /// Dimension i; negative i counts from the end (-1 is the last).
  int64_t dim(int64_t i) const;
  template <typename T> T *as() const { return static_cast<T *>(data); }
  /// "f32[2, 8, 64]".
  std::string describe() const;
};

/// An attribute value, as plan.proto's Attr: integer, float, bool, string or
/// a list of integers. Unit attributes (`causal`) are bools set to true.
using AttrValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;

/// The op's attributes by name. Getters throw std::invalid_argument naming
/// the attribute when it is missing (and has no default) or of another kind.
class KernelAttrs {
public:
  KernelAttrs() = default;
  KernelAttrs(std::initializer_list<std::pair<const std::string, AttrValue>> values)
      : values_(values) {}

  void set(const std::string &name, AttrValue value) { values_[name] = std::move(value); }
  bool has(const std::string &name) const { return values_.count(name) != 0; }

  int64_t getInt(const std::string &name) const;
  int64_t getInt(const std::string &name, int64_t fallback) const;
  /// Accepts an integer attribute too.
  double getFloat(const std::string &name) const;
  double getFloat(const std::string &name, double fallback) const;
  bool getBool(const std::string &name, bool fallback = false) const;
  std::vector<int64_t> getInts(const std::string &name) const;
  /// getInts without the copy (for kernels while they run: no allocation).
  std::span<const int64_t> intsView(const std::string &name) const;

  const std::map<std::string, AttrValue> &values() const { return values_; }

private:
  const AttrValue *find(const std::string &name) const;
  std::map<std::string, AttrValue> values_;
};

/// What changes from one run of a step to the next and the kernels read:
/// `adam_step`'s 1-based step count and learning rate (the op is not pure),
/// and the threads the host optimizer uses. Set by the trainer between runs.
struct StepContext {
  int64_t optimizerStep = 1;
  std::optional<double> lr;            // overrides adam_step's lr attribute
  ThreadPool *optimizerPool = nullptr; // nullptr: the process-wide pool
  /// When set, adam_step leaves its param and moments as they are (offrt
  /// train's non-finite guard, and evaluation). Set from the hook that runs
  /// before each kernel, on the thread that then runs it.
  bool skipUpdates = false;
};

/// One kernel call: inputs and outputs in the op's operand/result order.
struct KernelCall {
  std::string_view op;
  std::span<const TensorArg> inputs;
  std::span<const TensorArg> outputs;
  const KernelAttrs &attrs;
  /// Scratch memory for this call only, at least the entry's workspace()
  /// bytes, 64-byte aligned; owned by the plan (empty when none is needed).
  std::span<std::byte> workspace = {};
  /// The step's changing values (nullptr outside a step: defaults apply).
  const StepContext *step = nullptr;
  /// The backend stream the call is issued on (a GPU kernel enqueues there);
  /// nullptr for a direct call.
  Stream *stream = nullptr;
};

/// A kernel entry: validate() checks counts, dtypes, shapes and attributes
/// (never the data pointers, which may not exist yet) and throws
/// std::invalid_argument with a message naming the op and the argument;
/// run() computes (it may assume validate() passed, and throws
/// for data errors such as an id out of range; KernelTable::call rethrows
/// those as std::runtime_error).
///
/// workspace() gives the scratch bytes a call with these shapes, dtypes and
/// attributes needs (nullptr: none). It depends on nothing else (not the
/// thread count), so the compiler can size the plan's workspace with the
/// same rule (runtime/cpu/CpuWorkspace.h) and the loader can check it.
struct KernelEntry {
  void (*validate)(const KernelCall &call) = nullptr;
  void (*run)(const KernelCall &call) = nullptr;
  uint64_t (*workspace)(const KernelCall &call) = nullptr;
};

class KernelTable {
public:
  explicit KernelTable(std::string backend) : backend_(std::move(backend)) {}

  const std::string &backend() const { return backend_; }
  /// Registers `op`; a second registration of the same name is an error.
  void add(const std::string &op, KernelEntry entry);
  /// nullptr when the backend has no kernel for `op`.
  const KernelEntry *find(std::string_view op) const;
  /// Throws std::invalid_argument "the <backend> backend has no kernel for 'op'".
  const KernelEntry &get(std::string_view op) const;
  /// Every op name, sorted.
  std::vector<std::string> ops() const;

  /// Adds every entry of `other` (an op in both is an error).
  void addAll(const KernelTable &other);

  /// get(op).validate, then run with a workspace of the size it asks for
  /// (allocated here: for tests and tools, not for steps). Errors are
  /// rethrown with the op's name.
  void call(std::string_view op, std::span<const TensorArg> inputs,
            std::span<const TensorArg> outputs, const KernelAttrs &attrs = {}) const;
  /// Only the checks (for a plan loader, before anything runs).
  void validate(std::string_view op, std::span<const TensorArg> inputs,
                std::span<const TensorArg> outputs, const KernelAttrs &attrs = {}) const;

private:
  std::string backend_;
  std::map<std::string, KernelEntry, std::less<>> entries_;
};

/// One plan instruction's kernel, prepared once: looked up and validated
/// with its shapes, dtypes and attributes (the TensorArgs' data pointers are
/// ignored here, as a plan loader knows arena offsets, not addresses, until
/// the arenas exist); run() then only supplies the pointers. Throws as
/// KernelTable::validate / call do.
class BoundKernel {
public:
  BoundKernel(const KernelTable &table, std::string op, std::vector<TensorArg> inputs,
              std::vector<TensorArg> outputs, KernelAttrs attrs = {});

  const std::string &op() const { return op_; }
  const std::vector<TensorArg> &inputs() const { return inputs_; }
  const std::vector<TensorArg> &outputs() const { return outputs_; }
  const KernelAttrs &attrs() const { return attrs_; }
  /// Scratch bytes a run needs (the entry's workspace rule; 0 without one).
  uint64_t workspaceBytes() const { return workspaceBytes_; }

  /// One pointer per input and per output, in order, and the workspace (at
  /// least workspaceBytes()). Allocates nothing: the arguments are filled
  /// into the kernel's own copies, so calls from several threads take turns
  /// (a lock). Backends call this from Backend::launch; `step` and `stream`
  /// are handed to the kernel.
  void run(std::span<void *const> inputData, std::span<void *const> outputData,
           std::span<std::byte> workspace = {}, const StepContext *step = nullptr,
           Stream *stream = nullptr) const;

private:
  const KernelEntry *entry_;
  std::string op_;
  std::vector<TensorArg> inputs_, outputs_;
  KernelAttrs attrs_;
  uint64_t workspaceBytes_ = 0;
  // What run() hands the kernel: inputs_/outputs_ with the call's pointers.
  mutable std::mutex callMutex_;
  mutable std::vector<TensorArg> callInputs_, callOutputs_;
};

} // namespace off::backend
