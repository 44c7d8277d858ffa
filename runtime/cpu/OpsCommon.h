// Internal: argument checking for the kernel-table adapters (OpsGeneric.cpp,
// OpsFused.cpp). Every failure is a std::invalid_argument whose message
// names the op, the argument and what was expected.
#pragma once

#include "runtime/backend/Kernel.h"

#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::cpu::detail {

using backend::KernelAttrs;
using backend::KernelCall;
using backend::KernelTable;
using backend::TensorArg;

std::string shapeText(std::span<const int64_t> shape);

class Args {
public:
  /// Checks the numbers of inputs and outputs (variadic: minInputs only).
  Args(const KernelCall &call, size_t inputs, size_t outputs, bool variadic = false);

  [[noreturn]] void fail(const std::string &message) const;

  /// Input/output i, named `role` in messages; checks its dtype when given.
  const TensorArg &in(size_t i, const char *role) const;
  const TensorArg &in(size_t i, const char *role, DType dtype) const;
  const TensorArg &out(size_t i, const char *role) const;
  const TensorArg &out(size_t i, const char *role, DType dtype) const;
  /// An index tensor (i32 or i64).
  const TensorArg &indexIn(size_t i, const char *role) const;

  void expectDtype(const TensorArg &t, const char *role, DType dtype) const;
  void expectShape(const TensorArg &t, const char *role, std::span<const int64_t> shape) const;
  void expectShape(const TensorArg &t, const char *role,
                   std::initializer_list<int64_t> shape) const {
    expectShape(t, role, std::span<const int64_t>(shape.begin(), shape.size()));
  }
  void expectRank(const TensorArg &t, const char *role, int64_t rank) const;
  void expectSameDtype(const TensorArg &a, const char *roleA, const TensorArg &b,
                       const char *roleB) const;
  /// An `axis` attribute in [0, rank).
  int64_t axis(const char *name, int64_t rank) const;

  const KernelAttrs &attrs() const { return call_.attrs; }
  const KernelCall &call() const { return call_; }

private:
  const KernelCall &call_;
};

void registerGenericOps(KernelTable &table);
void registerFusedOps(KernelTable &table);
/// Every op of `fp32` into `out`; those without bf16 kernels of their own
/// wrapped so that bf16 tensors run the fp32 kernel on widened copies
/// (OpsBf16.cpp). `fp32` must outlive `out`.
void addBf16Widening(KernelTable &out, const KernelTable &fp32);

} // namespace off::cpu::detail
