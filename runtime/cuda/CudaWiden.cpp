// bf16 operands for the f32 CUDA kernels, as the CPU backend does it
// (runtime/cpu/OpsBf16.cpp): every bf16 input is widened (exactly) into an
// f32 copy on the device, the f32 kernel runs on the copies into f32
// buffers, and those are rounded (to nearest even) into the bf16 outputs.
// So each bf16 result is, bit for bit, the f32 kernel's result on the
// widened inputs rounded once: what Bf16Conformance asks of every backend,
// and PyTorch's arithmetic for bf16 (compute in f32, round the result).
//
// The copies live in one device buffer per stream, grown (stream-ordered,
// cudaMallocAsync) when a call needs more and kept: after the first step a
// call allocates nothing. It is not counted in the plan's device budget
// (as the CPU's widening buffers are not counted in its host budget).
#include "runtime/cuda/CudaOpsCommon.h"

#include <map>
#include <mutex>

namespace off::cuda::detail {
namespace {

constexpr size_t kAlign = 256;

size_t aligned(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

/// The stream's widening buffer, at least `bytes` long. Stream order makes
/// reuse safe: every kernel that read the old contents was enqueued before
/// the next call's casts overwrite them, on the same stream.
std::byte *scratchFor(cudaStream_t stream, size_t bytes) {
  struct Buffer {
    void *data = nullptr;
    size_t size = 0;
  };
  static std::mutex mutex;
  static std::map<cudaStream_t, Buffer> buffers; // never freed: the process's lifetime
  std::lock_guard lock(mutex);
  Buffer &b = buffers[stream];
  if (b.size < bytes) {
    if (b.data)
      check(cudaFreeAsync(b.data, stream), "bf16 widening buffer (cudaFreeAsync)");
    b.data = nullptr;
    b.size = 0;
    check(cudaMallocAsync(&b.data, bytes, stream), "bf16 widening buffer (cudaMallocAsync)");
    b.size = bytes;
  }
  return static_cast<std::byte *>(b.data);
}

constexpr int kF32 = 0, kBf16 = 1; // launchCast's codes

} // namespace

bool anyBf16(const KernelCall &c) {
  for (const auto *list : {&c.inputs, &c.outputs})
    for (const TensorArg &t : *list)
      if (t.dtype == DType::BF16)
        return true;
  return false;
}

bool oneFloatDtype(const KernelCall &c, bool *bf16) {
  DType first = c.inputs.empty() ? DType::F32 : c.inputs[0].dtype;
  if (first != DType::F32 && first != DType::BF16)
    return false;
  for (const auto *list : {&c.inputs, &c.outputs})
    for (const TensorArg &t : *list)
      if (t.dtype != first)
        return false;
  *bf16 = first == DType::BF16;
  return true;
}

void runWidened(const KernelCall &c, void (*run)(const KernelCall &)) {
  if (!anyBf16(c))
    return run(c);
  cudaStream_t stream = streamOf(c);
  size_t bytes = 0;
  for (const auto *list : {&c.inputs, &c.outputs})
    for (const TensorArg &t : *list)
      if (t.dtype == DType::BF16)
        bytes += aligned(size_t(t.numel()) * sizeof(float));
  std::byte *scratch = scratchFor(stream, bytes);
  // Per thread and reused: assign() refills the shape vectors without
  // allocating once they have room.
  thread_local std::vector<TensorArg> ins, outs;
  auto widen = [&](std::span<const TensorArg> from, std::vector<TensorArg> &to, bool inputs) {
    if (to.size() < from.size())
      to.resize(from.size());
    for (size_t i = 0; i < from.size(); ++i) {
      const TensorArg &t = from[i];
      TensorArg &w = to[i];
      w.shape.assign(t.shape.begin(), t.shape.end());
      w.dtype = t.dtype;
      w.data = t.data;
      if (t.dtype != DType::BF16)
        continue;
      w.dtype = DType::F32;
      w.data = scratch;
      scratch += aligned(size_t(t.numel()) * sizeof(float));
      if (inputs)
        launchCast(kBf16, kF32, t.data, w.data, t.numel(), stream);
    }
  };
  widen(c.inputs, ins, true);
  widen(c.outputs, outs, false);
  run(KernelCall{c.op, std::span<const TensorArg>(ins.data(), c.inputs.size()),
                 std::span<const TensorArg>(outs.data(), c.outputs.size()), c.attrs, c.workspace,
                 c.step, c.stream});
  for (size_t i = 0; i < c.outputs.size(); ++i)
    if (c.outputs[i].dtype == DType::BF16)
      launchCast(kF32, kBf16, outs[i].data, c.outputs[i].data, c.outputs[i].numel(), stream);
}

} // namespace off::cuda::detail
