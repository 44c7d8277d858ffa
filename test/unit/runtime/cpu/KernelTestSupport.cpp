#include "test/unit/runtime/cpu/KernelTestSupport.h"

#include "runtime/common/Float16.h"

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
    : shape(std::move(s)), dtype(d), bytes(size_t(count(shape)) * dtypeSize(d)) {}

std::vector<double> HostTensor::toDouble() const {
  std::vector<double> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype) {
    case DType::F32: out[i] = as<float>()[i]; break;
    case DType::BF16: out[i] = bf16ToFloat(as<uint16_t>()[i]); break;
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

HostTensor toDtype(const HostTensor &t, DType dtype) {
  HostTensor out(t.shape, dtype);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float value = t.dtype == DType::BF16 ? bf16ToFloat(t.as<uint16_t>()[i]) : t.f32()[i];
    if (dtype == DType::BF16)
      out.as<uint16_t>()[i] = floatToBf16(value);
    else
      out.f32()[i] = value;
  }
  return out;
}

HostTensor randomBf16(Shape shape, std::mt19937 &rng, double lo, double hi) {
  return toDtype(randomF32(std::move(shape), rng, lo, hi), DType::BF16);
}

std::vector<HostTensor> runOp(backend::Backend &backend, const std::string &op,
                              const std::vector<HostTensor> &inputs,
                              const std::vector<OutSpec> &outputs, const KernelAttrs &attrs) {
  // Bound as a plan loader binds it: shapes, dtypes and attributes first
  // (this throws for a call the kernel refuses), addresses at launch.
  std::vector<backend::TensorArg> in, out;
  for (const HostTensor &t : inputs)
    in.push_back({nullptr, t.shape, t.dtype});
  for (const OutSpec &spec : outputs)
    out.push_back({nullptr, spec.shape, spec.dtype});
  backend::BoundKernel kernel(backend.kernels(StreamKind::Compute), op, in, out, attrs);

  // One device arena holds every buffer and the workspace, 64-byte aligned.
  auto rounded = [](uint64_t bytes) { return (bytes + 63) / 64 * 64; };
  std::vector<HostTensor> results;
  for (const OutSpec &spec : outputs) {
    results.emplace_back(spec.shape, spec.dtype);
    std::fill(results.back().bytes.begin(), results.back().bytes.end(), std::byte{0xFF});
  }
  uint64_t total = rounded(kernel.workspaceBytes());
  for (const HostTensor &t : inputs)
    total += rounded(t.bytes.size());
  for (const HostTensor &r : results)
    total += rounded(r.bytes.size());
  backend::ArenaRequest request;
  request.label = "arena 'test'";
  request.tier = Tier::Device;
  request.size = std::max<uint64_t>(total, 64);
  std::unique_ptr<backend::Arena> arena = backend.allocateArena(request);
  uint64_t offset = 0;
  auto place = [&](const HostTensor &t) {
    void *p = arena->data() + offset;
    offset += rounded(t.bytes.size());
    backend.upload(p, t.bytes.data(), t.bytes.size());
    return p;
  };
  std::vector<void *> inData, outData;
  for (const HostTensor &t : inputs)
    inData.push_back(place(t));
  for (const HostTensor &r : results)
    outData.push_back(place(r)); // NaN-filled: an element the kernel misses shows
  std::span<std::byte> workspace(arena->data() + offset, size_t(kernel.workspaceBytes()));

  std::unique_ptr<backend::Stream> stream = backend.createStream(StreamKind::Compute, "test");
  backend.launch(*stream, kernel, inData, outData, workspace, backend::StepContext{});
  backend.synchronize(*stream);
  for (size_t i = 0; i < results.size(); ++i)
    backend.download(results[i].bytes.data(), outData[i], results[i].bytes.size());
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
