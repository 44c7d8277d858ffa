// The backend kernel interface: kernels are looked up by the name of the off
// op they implement ("rms_norm", "attention_grad", ...) and called with
// tensor arguments (pointer + shape + dtype) and the op's attributes. A plan
// loader turns each plan.bin kernel instruction into one such call; every
// backend (CPU now, CUDA later) fills a KernelTable with the same names and
// the same semantics, and one conformance suite runs against each.
//
// Nothing here is CPU specific: pointers are whatever memory the backend
// computes on. See runtime/cpu/README.md for the calling convention.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace off::kernels {

/// Element types, as plan.proto's DType.
enum class DType : uint8_t { F32, BF16, F16, I32, I64 };
const char *dtypeName(DType dtype);
size_t dtypeSize(DType dtype);

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

  const std::map<std::string, AttrValue> &values() const { return values_; }

private:
  const AttrValue *find(const std::string &name) const;
  std::map<std::string, AttrValue> values_;
};

/// One kernel call: inputs and outputs in the op's operand/result order.
struct KernelCall {
  std::string_view op;
  std::span<const TensorArg> inputs;
  std::span<const TensorArg> outputs;
  const KernelAttrs &attrs;
};

/// A kernel entry: validate() checks counts, dtypes, shapes and attributes
/// (never the data pointers, which may not exist yet) and throws
/// std::invalid_argument with a message naming the op and the argument;
/// run() computes (it may assume validate() passed, and throws
/// for data errors such as an id out of range; KernelTable::call rethrows
/// those as std::runtime_error).
struct KernelEntry {
  void (*validate)(const KernelCall &call) = nullptr;
  void (*run)(const KernelCall &call) = nullptr;
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

  /// get(op).validate, then run. Errors are rethrown with the op's name.
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
  /// One pointer per input and per output, in order. Safe to call from
  /// several threads (each call works on its own copy of the arguments).
  void run(std::span<void *const> inputData, std::span<void *const> outputData) const;

private:
  const KernelEntry *entry_;
  std::string op_;
  std::vector<TensorArg> inputs_, outputs_;
  KernelAttrs attrs_;
};

/// What a conformance test needs from a backend besides its kernels: memory
/// the kernels can read and write, and copies to and from host memory.
class Backend {
public:
  virtual ~Backend() = default;
  virtual const KernelTable &kernels() const = 0;
  virtual void *allocate(size_t bytes) = 0;
  virtual void release(void *pointer) = 0;
  virtual void copyToDevice(void *device, const void *host, size_t bytes) = 0;
  virtual void copyToHost(void *host, const void *device, size_t bytes) = 0;
  /// Waits until every kernel called so far has finished.
  virtual void synchronize() = 0;
};

} // namespace off::kernels
