#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace off::test {

int64_t count(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

HostTensor::HostTensor(Shape s, DType d)
    : shape(std::move(s)), dtype(d), bytes(size_t(count(shape)) * kernels::dtypeSize(d)) {}

std::vector<double> HostTensor::toDouble() const {
  std::vector<double> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype) {
    case DType::F32: out[i] = as<float>()[i]; break;
    case DType::I32: out[i] = double(as<int32_t>()[i]); break;
    case DType::I64: out[i] = double(as<int64_t>()[i]); break;
    default: throw std::logic_error("toDouble: unsupported dtype");
    }
  }
  return out;
}

HostTensor f32Tensor(Shape shape, const std::vector<double> &values) {
  HostTensor t(std::move(shape), DType::F32);
  if (int64_t(values.size()) != t.numel())
    throw std::logic_error("f32Tensor: wrong number of values");
  for (size_t i = 0; i < values.size(); ++i)
    t.f32()[i] = float(values[i]);
  return t;
}

HostTensor randomF32(Shape shape, std::mt19937 &rng, double lo, double hi) {
  HostTensor t(std::move(shape), DType::F32);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = float(dist(rng));
  return t;
}

HostTensor indexTensor(Shape shape, const std::vector<int64_t> &values, DType dtype) {
  HostTensor t(std::move(shape), dtype);
  if (int64_t(values.size()) != t.numel())
    throw std::logic_error("indexTensor: wrong number of values");
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::I32)
      t.as<int32_t>()[i] = int32_t(values[i]);
    else
      t.as<int64_t>()[i] = values[i];
  }
  return t;
}

HostTensor randomIds(Shape shape, int64_t vocab, std::mt19937 &rng, DType dtype) {
  std::uniform_int_distribution<int64_t> dist(0, vocab - 1);
  std::vector<int64_t> values(static_cast<size_t>(count(shape)));
  for (int64_t &v : values)
    v = dist(rng);
  return indexTensor(std::move(shape), values, dtype);
}

std::vector<double> asDouble(const HostTensor &t) { return t.toDouble(); }

std::vector<HostTensor> runOp(kernels::Backend &backend, const std::string &op,
                              const std::vector<HostTensor> &inputs,
                              const std::vector<OutSpec> &outputs, const KernelAttrs &attrs) {
  std::vector<void *> buffers;
  struct Release {
    kernels::Backend &backend;
    std::vector<void *> &buffers;
    ~Release() {
      for (void *p : buffers)
        backend.release(p);
    }
  } release{backend, buffers};
  std::vector<kernels::TensorArg> in, out;
  for (const HostTensor &t : inputs) {
    void *p = backend.allocate(t.bytes.size());
    buffers.push_back(p);
    backend.copyToDevice(p, t.bytes.data(), t.bytes.size());
    in.push_back({p, t.shape, t.dtype});
  }
  std::vector<HostTensor> results;
  for (const OutSpec &spec : outputs) {
    results.emplace_back(spec.shape, spec.dtype);
    HostTensor &r = results.back();
    std::fill(r.bytes.begin(), r.bytes.end(), std::byte{0xFF});
    void *p = backend.allocate(r.bytes.size());
    buffers.push_back(p);
    backend.copyToDevice(p, r.bytes.data(), r.bytes.size());
    out.push_back({p, spec.shape, spec.dtype});
  }
  backend.kernels().call(op, in, out, attrs);
  backend.synchronize();
  for (size_t i = 0; i < results.size(); ++i)
    backend.copyToHost(results[i].bytes.data(), out[i].data, results[i].bytes.size());
  return results;
}

double relativeError(const std::vector<double> &a, const std::vector<double> &b, double floor) {
  if (a.size() != b.size())
    return std::numeric_limits<double>::infinity();
  double worst = 0.0, scale = floor;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i]))
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return worst / scale;
}

double relativeError(const HostTensor &a, const std::vector<double> &b, double floor) {
  return relativeError(a.toDouble(), b, floor);
}

bool sameBits(const HostTensor &a, const HostTensor &b) {
  return a.shape == b.shape && a.dtype == b.dtype && a.bytes == b.bytes;
}

} // namespace off::test
