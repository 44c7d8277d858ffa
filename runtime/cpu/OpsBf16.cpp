// bf16 operands for the fp32 kernels: an op whose call has bf16 tensors
// runs its fp32 kernel on exact fp32 copies of the bf16 inputs, into fp32
// buffers that are then rounded (to nearest even) into the bf16 outputs.
// That is PyTorch's arithmetic for bf16 on the CPU (compute in fp32, round
// the result once), and each element gets the same bits as the fp32 kernel
// on the widened inputs followed by a cast. Element-wise ops do it chunk by
// chunk on the stack; the others widen whole tensors into buffers each
// thread keeps and reuses (allocated on first use, not plan workspace yet).
//
// Ops with their own bf16 handling are not wrapped: matmul (GemmBf16.h),
// global_norm, cast, adam_step (bf16 gradients and copy, runtime/optim) and
// the data-movement ops (any dtype).
#include "runtime/common/Float16.h"
#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/OpsCommon.h"

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <vector>

namespace off::cpu::detail {
namespace {

const KernelTable *fp32Table = nullptr;

bool isBf16(const TensorArg &t) { return t.dtype == DType::BF16; }

bool anyBf16(const KernelCall &c) {
  for (const TensorArg &t : c.inputs)
    if (isBf16(t))
      return true;
  for (const TensorArg &t : c.outputs)
    if (isBf16(t))
      return true;
  return false;
}

const backend::KernelEntry &fp32Entry(const KernelCall &c) { return fp32Table->get(c.op); }

void convertRange(int64_t n, FunctionRef<void(int64_t, int64_t)> fn) {
  parallelRange(n, 4, fn);
}

/// Operand lists of a widened call. A step reuses one per thread: copying
/// into it (shape.assign) reuses the shape vectors' capacity, so after the
/// first step it allocates nothing. More operands than this is refused at
/// validation.
constexpr size_t kMaxOperands = 16;

struct WidenedArgs {
  std::array<TensorArg, kMaxOperands> args;
  size_t count = 0;
  std::span<const TensorArg> span() const { return {args.data(), count}; }
};

void widenInto(const KernelCall &c, std::span<const TensorArg> list, WidenedArgs &out) {
  if (list.size() > kMaxOperands)
    throw std::invalid_argument(std::string(c.op) + ": more than " +
                                std::to_string(kMaxOperands) + " operands for bf16 widening");
  out.count = 0;
  for (const TensorArg &t : list) {
    TensorArg &w = out.args[out.count++];
    w.data = t.data;
    w.shape.assign(t.shape.begin(), t.shape.end());
    w.dtype = isBf16(t) ? DType::F32 : t.dtype;
  }
}

void validateWidened(const KernelCall &c) {
  const backend::KernelEntry &entry = fp32Entry(c);
  if (!anyBf16(c))
    return entry.validate(c);
  WidenedArgs ins, outs;
  widenInto(c, c.inputs, ins);
  widenInto(c, c.outputs, outs);
  entry.validate(KernelCall{c.op, ins.span(), outs.span(), c.attrs, {}, c.step, c.stream});
}

/// Ops whose every output element depends only on the input elements at
/// its own index (all tensors of one shape): run chunk by chunk.
bool isElementwise(const KernelCall &c) {
  static const std::set<std::string, std::less<>> ops = {
      "add", "sub", "mul", "div", "neg", "exp", "sqrt", "rsqrt", "silu", "sigmoid",
      "swiglu", "swiglu_grad"};
  if (!ops.count(c.op))
    return false;
  for (const auto *list : {&c.inputs, &c.outputs})
    for (const TensorArg &t : *list)
      if (t.shape != c.inputs[0].shape || (t.dtype != DType::F32 && t.dtype != DType::BF16))
        return false;
  return true;
}

/// The element-wise case without any buffer beyond the stack: each piece of
/// the pool widens a chunk of every bf16 input, runs the fp32 kernel on the
/// chunk (serially: a call from inside a piece does not split again) and
/// rounds the chunk's bf16 outputs. Each element gets the bits of the
/// whole-tensor fp32 call, whose elements do not depend on each other.
void runElementwise(const KernelCall &c, const backend::KernelEntry &entry) {
  constexpr int64_t kChunk = 1024;
  constexpr size_t kMax = 6;
  int64_t n = c.inputs[0].numel();
  size_t nIn = c.inputs.size(), nOut = c.outputs.size();
  if (nIn + nOut > kMax)
    throw std::logic_error(std::string(c.op) + ": too many operands for the bf16 chunks");
  parallelRange(n, 16 * int64_t(nIn + nOut), [&](int64_t begin, int64_t end) {
    alignas(64) float buffers[kMax][kChunk];
    // Per thread and reused: a TensorArg's shape is a vector, which
    // assign() refills without allocating once it has room.
    thread_local TensorArg ins[kMax], outs[kMax];
    for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
      int64_t m = std::min(kChunk, end - c0);
      auto chunkOf = [&](TensorArg &arg, const TensorArg &t, float *buffer, bool widen) {
        arg.shape.assign(1, m);
        arg.dtype = DType::F32;
        if (t.dtype == DType::F32) {
          arg.data = t.as<float>() + c0;
          return;
        }
        if (widen) {
          const uint16_t *src = t.as<uint16_t>() + c0;
          for (int64_t j = 0; j < m; ++j)
            buffer[j] = bf16ToFloat(src[j]);
        }
        arg.data = buffer;
      };
      for (size_t i = 0; i < nIn; ++i)
        chunkOf(ins[i], c.inputs[i], buffers[i], true);
      for (size_t i = 0; i < nOut; ++i)
        chunkOf(outs[i], c.outputs[i], buffers[nIn + i], false);
      entry.run(KernelCall{c.op, std::span<const TensorArg>(ins, nIn),
                           std::span<const TensorArg>(outs, nOut), c.attrs, {}, c.step,
                           c.stream});
      for (size_t i = 0; i < nOut; ++i)
        if (isBf16(c.outputs[i])) {
          uint16_t *dst = c.outputs[i].as<uint16_t>() + c0;
          for (int64_t j = 0; j < m; ++j)
            dst[j] = floatToBf16(buffers[nIn + i][j]);
        }
    }
  });
}

/// Grow-only fp32 buffers per calling thread, reused from call to call (no
/// page faults after the first step).
std::vector<float> &reusableBuffer(size_t index, size_t count) {
  thread_local std::vector<std::vector<float>> buffers;
  if (buffers.size() <= index)
    buffers.resize(index + 1);
  if (buffers[index].size() < count)
    buffers[index].resize(count);
  return buffers[index];
}

void runWidened(const KernelCall &c) {
  const backend::KernelEntry &entry = fp32Entry(c);
  if (!anyBf16(c))
    return entry.run(c);
  if (isElementwise(c))
    return runElementwise(c, entry);
  thread_local WidenedArgs ins, outs;
  widenInto(c, c.inputs, ins);
  widenInto(c, c.outputs, outs);
  size_t used = 0;
  for (size_t i = 0; i < ins.count; ++i) {
    if (!isBf16(c.inputs[i]))
      continue;
    float *buffer = reusableBuffer(used++, size_t(ins.args[i].numel())).data();
    const uint16_t *src = c.inputs[i].as<uint16_t>();
    convertRange(ins.args[i].numel(), [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j)
        buffer[j] = bf16ToFloat(src[j]);
    });
    ins.args[i].data = buffer;
  }
  for (size_t i = 0; i < outs.count; ++i)
    if (isBf16(c.outputs[i]))
      outs.args[i].data = reusableBuffer(used++, size_t(outs.args[i].numel())).data();
  // The workspace rule reads shapes and attributes only, so the plan's
  // workspace for this bf16 call is the fp32 kernel's.
  entry.run(KernelCall{c.op, ins.span(), outs.span(), c.attrs, c.workspace, c.step, c.stream});
  for (size_t i = 0; i < outs.count; ++i) {
    if (!isBf16(c.outputs[i]))
      continue;
    const float *src = outs.args[i].as<float>();
    uint16_t *dst = c.outputs[i].as<uint16_t>();
    convertRange(outs.args[i].numel(), [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j)
        dst[j] = floatToBf16(src[j]);
    });
  }
}

/// The fp32 kernel's rule (dtype-blind: shapes and attributes), which is
/// also what offc sizes the plan's WORKSPACE with.
uint64_t workspaceWidened(const KernelCall &c) {
  const backend::KernelEntry &entry = fp32Entry(c);
  return entry.workspace ? entry.workspace(c) : 0;
}

} // namespace

void addBf16Widening(KernelTable &out, const KernelTable &fp32) {
  fp32Table = &fp32;
  static const std::set<std::string> own = {
      "matmul",  "global_norm", "cast",       "reshape", "transpose", "slice",
      "slice_grad", "concat",   "gather",     "broadcast_to", "adam_step"};
  for (const std::string &op : fp32.ops()) {
    const backend::KernelEntry &entry = fp32.get(op);
    if (own.count(op))
      out.add(op, entry);
    else
      out.add(op, {validateWidened, runWidened, entry.workspace ? workspaceWidened : nullptr});
  }
}

} // namespace off::cpu::detail
