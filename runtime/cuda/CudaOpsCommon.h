// Shared by the CUDA kernel table's adapters (CudaOps*.cpp): index maps from
// shapes, the stream and error record a call uses.
#pragma once

#include "runtime/backend/Kernel.h"
#include "runtime/cuda/CudaContext.h"
#include "runtime/cuda/CudaKernels.h"

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::cuda::detail {

using backend::KernelCall;
using backend::KernelTable;
using backend::TensorArg;
using Shape = std::vector<int64_t>;

inline cudaStream_t streamOf(const KernelCall &c) { return cuda::streamOf(c.stream); }

inline Shape contiguousStrides(std::span<const int64_t> shape) {
  Shape strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * shape[d];
  return strides;
}

inline void checkRank(size_t rank, std::string_view op) {
  if (rank > size_t(kMaxRank))
    throw std::invalid_argument(std::string(op) + ": the CUDA kernels take tensors of rank up to " +
                                std::to_string(kMaxRank) + ", got rank " + std::to_string(rank));
}

/// The map from `out`'s elements to those of `in`, which broadcasts to it
/// (right-aligned; stride 0 where `in` has 1 or lacks the dim).
inline IndexMap broadcastMap(std::span<const int64_t> in, std::span<const int64_t> out,
                             std::string_view op) {
  checkRank(out.size(), op);
  IndexMap map;
  map.rank = int(out.size());
  Shape strides = contiguousStrides(in);
  size_t lead = out.size() - in.size();
  for (size_t d = 0; d < out.size(); ++d) {
    map.shape[d] = out[d];
    if (d < lead)
      map.stride[d] = 0;
    else
      map.stride[d] = in[d - lead] == 1 && out[d] != 1 ? 0 : strides[d - lead];
  }
  return map;
}

/// Offset of output element i under `map` (host side of mapIndex).
inline int64_t mapIndexHost(const IndexMap &m, int64_t i) {
  int64_t offset = 0;
  for (int d = m.rank - 1; d >= 0; --d) {
    int64_t c = i % m.shape[d];
    i /= m.shape[d];
    offset += c * m.stride[d];
  }
  return offset;
}

inline int64_t product(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// outer x size x inner around `axis`.
struct AxisSplit {
  int64_t outer = 1, size = 1, inner = 1;
};
inline AxisSplit axisSplit(std::span<const int64_t> shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d)
    (d < axis ? s.outer : d == axis ? s.size : s.inner) *= shape[size_t(d)];
  return s;
}

/// Whether any operand is bf16.
bool anyBf16(const KernelCall &c);
/// Whether every operand is f32, or every one bf16 (then *bf16 = true).
bool oneFloatDtype(const KernelCall &c, bool *bf16);
/// Runs `run`, an f32 kernel adapter, on the call; bf16 operands through
/// f32 copies on the device (CudaWiden.cpp): each bf16 result is the f32
/// kernel's on the widened inputs, rounded once.
void runWidened(const KernelCall &c, void (*run)(const KernelCall &));
template <void (*Run)(const KernelCall &)> void widened(const KernelCall &c) {
  runWidened(c, Run);
}

/// The CPU table's validation of the call, then the dtypes the CUDA kernels
/// take (CudaDtypes.cpp): every CUDA entry's validate.
void validateOnCuda(const KernelCall &c);

void registerGenericOps(KernelTable &table, const KernelTable &cpu);
void registerFusedOps(KernelTable &table, const KernelTable &cpu);

} // namespace off::cuda::detail
