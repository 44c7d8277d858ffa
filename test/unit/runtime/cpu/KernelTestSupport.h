// Test support for the backend kernels: host tensors, running one op through
// a Backend's kernel table (device buffers, copies in and out), comparisons.
// Tests written against this run unchanged on any backend (conformance).
#pragma once

#include "runtime/backend/Backend.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace off::test {

using ::off::DType;
using backend::KernelAttrs;
using Shape = std::vector<int64_t>;

int64_t count(const Shape &shape);

/// A dense tensor in host memory.
struct HostTensor {
  Shape shape;
  DType dtype = DType::F32;
  std::vector<std::byte> bytes;

  HostTensor() = default;
  HostTensor(Shape s, DType d);

  int64_t numel() const { return count(shape); }
  float *f32() { return reinterpret_cast<float *>(bytes.data()); }
  const float *f32() const { return reinterpret_cast<const float *>(bytes.data()); }
  template <typename T> T *as() { return reinterpret_cast<T *>(bytes.data()); }
  template <typename T> const T *as() const { return reinterpret_cast<const T *>(bytes.data()); }

  /// f32 or index elements as double.
  std::vector<double> toDouble() const;
  float at(int64_t i) const { return f32()[i]; }
};

HostTensor f32Tensor(Shape shape, const std::vector<double> &values);
/// Uniform in [lo, hi), rounded to f32.
HostTensor randomF32(Shape shape, std::mt19937 &rng, double lo = -1.0, double hi = 1.0);
HostTensor indexTensor(Shape shape, const std::vector<int64_t> &values, DType dtype);
HostTensor randomIds(Shape shape, int64_t vocab, std::mt19937 &rng, DType dtype = DType::I32);
/// f32 (or bf16) values as double (the exact inputs a double reference
/// should see).
std::vector<double> asDouble(const HostTensor &t);
/// f32 <-> bf16 (to bf16: round to nearest even; to f32: exact).
HostTensor toDtype(const HostTensor &t, DType dtype);
/// randomF32 rounded to bf16.
HostTensor randomBf16(Shape shape, std::mt19937 &rng, double lo = -1.0, double hi = 1.0);

struct OutSpec {
  Shape shape;
  DType dtype = DType::F32;
};

/// Runs `op` on `backend` through its interface, as the executor does: bound
/// (validated) once, inputs uploaded into a device arena, outputs there
/// filled with 0xFF bytes (NaN for floats, so an element a kernel fails to
/// write shows), the kernel launched on a compute stream with the workspace
/// it asks for, results downloaded.
std::vector<HostTensor> runOp(backend::Backend &backend, const std::string &op,
                              const std::vector<HostTensor> &inputs,
                              const std::vector<OutSpec> &outputs,
                              const KernelAttrs &attrs = {});

/// max |a - b| / max(max |b|, floor): the error relative to the reference's
/// scale. NaN anywhere gives +inf.
double relativeError(const HostTensor &a, const std::vector<double> &b, double floor = 1e-30);
double relativeError(const std::vector<double> &a, const std::vector<double> &b,
                     double floor = 1e-30);

/// True when both hold the same bytes.
bool sameBits(const HostTensor &a, const HostTensor &b);

/// Central finite differences in double: d(sum(weights * f(x))) / dx_i.
template <typename F>
std::vector<double> finiteDifferences(std::vector<double> x, const std::vector<double> &weights,
                                      F f, double h = 1e-5) {
  std::vector<double> grad(x.size());
  auto loss = [&] {
    std::vector<double> y = f(x);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i)
      sum += weights[i] * y[i];
    return sum;
  };
  for (size_t i = 0; i < x.size(); ++i) {
    double saved = x[i], step = h * std::max(1.0, std::abs(saved));
    x[i] = saved + step;
    double up = loss();
    x[i] = saved - step;
    double down = loss();
    x[i] = saved;
    grad[i] = (up - down) / (2.0 * step);
  }
  return grad;
}

} // namespace off::test
