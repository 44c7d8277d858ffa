// The CUDA kernel table's generic ops: matmul (cuBLASLt when it loads, else
// our GEMM), element-wise arithmetic, reductions, softmax, data movement,
// casts, global_norm. Validation is the CPU table's, so both backends accept
// and refuse the same calls.
#include "runtime/cuda/CublasLt.h"
#include "runtime/cuda/CudaOpsCommon.h"

#include <cstdlib>
#include <cstring>
#include <memory>

namespace off::cuda::detail {
namespace {

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

bool ownGemmForced() {
  static const bool forced = [] {
    const char *env = std::getenv("OFF_CUDA_GEMM");
    return env && std::strcmp(env, "own") == 0;
  }();
  return forced;
}

bool cublasLtUsed() { return !ownGemmForced() && CublasLt::instance().available(); }

/// C = op(A) op(B) through cuBLASLt; false when it found no algorithm for
/// some batch (then our GEMM redoes them all). A, B, C of `elem` bytes
/// (4: f32, 2: bf16).
bool cublasLtGemm(bool bf16, bool tl, bool tr, int64_t M, int64_t N, int64_t K, const void *A,
                  int64_t sA, const void *B, int64_t sB, void *C, int64_t sC, int64_t batch,
                  std::span<std::byte> workspace, cudaStream_t s) {
  CublasLt &lt = CublasLt::instance();
  size_t elem = bf16 ? 2 : 4;
  auto at = [&](const void *p, int64_t offset) {
    return static_cast<const std::byte *>(p) + offset * int64_t(elem);
  };
  // An operand shared by every batch (stride 0): one call per batch.
  if (batch > 1 && (sA == 0 || sB == 0)) {
    for (int64_t b = 0; b < batch; ++b)
      if (!lt.gemm(bf16, tl, tr, M, N, K, at(A, b * sA), 0, at(B, b * sB), 0,
                   const_cast<std::byte *>(at(C, b * sC)), 0, 1, workspace.data(),
                   workspace.size(), s))
        return false;
    return true;
  }
  return lt.gemm(bf16, tl, tr, M, N, K, A, sA, B, sB, C, sC, batch, workspace.data(),
                 workspace.size(), s);
}

void gemm(bool tl, bool tr, int64_t M, int64_t N, int64_t K, const float *A, int64_t sA,
          const float *B, int64_t sB, float *C, int64_t sC, int64_t batch,
          std::span<std::byte> workspace, cudaStream_t s) {
  if (M == 0 || N == 0 || batch == 0)
    return;
  if (K > 0 && cublasLtUsed() &&
      cublasLtGemm(false, tl, tr, M, N, K, A, sA, B, sB, C, sC, batch, workspace, s))
    return;
  launchSgemm(tl, tr, M, N, K, A, sA, B, sB, C, sC, batch, s);
}

void runMatmulF32(const KernelCall &c);

// bf16 x bf16 -> bf16 with f32 accumulation: cuBLASLt (one rounding of the
// f32 sum), else our f32 GEMM on widened copies (the same: one rounding).
void runMatmul(const KernelCall &c) {
  const TensorArg &lhs = c.inputs[0], &rhs = c.inputs[1], &out = c.outputs[0];
  if (lhs.dtype != DType::BF16)
    return runMatmulF32(c);
  if (!cublasLtUsed())
    return runWidened(c, runMatmulF32);
  bool tl = c.attrs.getBool("transpose_lhs"), tr = c.attrs.getBool("transpose_rhs");
  int64_t M = out.dim(-2), N = out.dim(-1), K = lhs.dim(tl ? -2 : -1);
  int64_t batch = out.numel() / (M * N > 0 ? M * N : 1);
  if (out.numel() == 0)
    return;
  if (K == 0)
    return runWidened(c, runMatmulF32); // zeros, as the f32 path writes them
  std::span<const int64_t> outBatch(out.shape.data(), out.shape.size() - 2);
  IndexMap lm = broadcastMap(std::span<const int64_t>(lhs.shape.data(), lhs.shape.size() - 2),
                             outBatch, "matmul");
  IndexMap rm = broadcastMap(std::span<const int64_t>(rhs.shape.data(), rhs.shape.size() - 2),
                             outBatch, "matmul");
  int64_t lSize = M * K, rSize = K * N, oSize = M * N;
  int64_t sA = batch > 1 ? mapIndexHost(lm, 1) * lSize : 0;
  int64_t sB = batch > 1 ? mapIndexHost(rm, 1) * rSize : 0;
  bool even = true;
  for (int64_t b = 0; b < batch && even; ++b)
    even = mapIndexHost(lm, b) * lSize == b * sA && mapIndexHost(rm, b) * rSize == b * sB;
  cudaStream_t s = streamOf(c);
  bool done;
  if (even && (sA != 0 || sB != 0 || batch == 1)) {
    done = cublasLtGemm(true, tl, tr, M, N, K, lhs.data, sA, rhs.data, sB, out.data, oSize, batch,
                        c.workspace, s);
  } else {
    done = true;
    const auto *A = static_cast<const uint16_t *>(lhs.data);
    const auto *B = static_cast<const uint16_t *>(rhs.data);
    auto *C = static_cast<uint16_t *>(out.data);
    for (int64_t b = 0; b < batch && done; ++b)
      done = cublasLtGemm(true, tl, tr, M, N, K, A + mapIndexHost(lm, b) * lSize, 0,
                          B + mapIndexHost(rm, b) * rSize, 0, C + b * oSize, 0, 1, c.workspace, s);
  }
  if (!done) // cuBLASLt had no algorithm for some batch: our GEMM redoes them all
    runWidened(c, runMatmulF32);
}

void runMatmulF32(const KernelCall &c) {
  const TensorArg &lhs = c.inputs[0], &rhs = c.inputs[1], &out = c.outputs[0];
  bool tl = c.attrs.getBool("transpose_lhs"), tr = c.attrs.getBool("transpose_rhs");
  int64_t M = out.dim(-2), N = out.dim(-1), K = lhs.dim(tl ? -2 : -1);
  std::span<const int64_t> outBatch(out.shape.data(), out.shape.size() - 2);
  std::span<const int64_t> lBatch(lhs.shape.data(), lhs.shape.size() - 2);
  std::span<const int64_t> rBatch(rhs.shape.data(), rhs.shape.size() - 2);
  IndexMap lm = broadcastMap(lBatch, outBatch, "matmul"), rm = broadcastMap(rBatch, outBatch, "matmul");
  int64_t batch = product(outBatch), lSize = M * K, rSize = K * N, oSize = M * N;
  const float *A = lhs.as<float>(), *B = rhs.as<float>();
  float *C = out.as<float>();
  cudaStream_t s = streamOf(c);
  // One strided call when each operand's batches are evenly spaced (the
  // usual case: equal batches, or one operand shared by all).
  int64_t sA = batch > 1 ? mapIndexHost(lm, 1) * lSize : 0;
  int64_t sB = batch > 1 ? mapIndexHost(rm, 1) * rSize : 0;
  bool even = true;
  for (int64_t b = 0; b < batch && even; ++b)
    even = mapIndexHost(lm, b) * lSize == b * sA && mapIndexHost(rm, b) * rSize == b * sB;
  if (even && (sA != 0 || sB != 0 || batch == 1))
    return gemm(tl, tr, M, N, K, A, sA, B, sB, C, oSize, batch, c.workspace, s);
  for (int64_t b = 0; b < batch; ++b)
    gemm(tl, tr, M, N, K, A + mapIndexHost(lm, b) * lSize, 0, B + mapIndexHost(rm, b) * rSize, 0,
         C + b * oSize, 0, 1, c.workspace, s);
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

// All operands f32 or all bf16: one kernel; mixed: on widened copies.
template <BinaryKind Op> void runBinary(const KernelCall &c) {
  bool bf16 = false;
  if (!oneFloatDtype(c, &bf16))
    return runWidened(c, runBinary<Op>);
  const TensorArg &l = c.inputs[0], &r = c.inputs[1], &y = c.outputs[0];
  launchBinary(Op, bf16, l.data, broadcastMap(l.shape, y.shape, c.op), r.data,
               broadcastMap(r.shape, y.shape, c.op), y.data, y.numel(), streamOf(c));
}

template <UnaryKind Op> void runUnary(const KernelCall &c) {
  bool bf16 = false;
  if (!oneFloatDtype(c, &bf16))
    return runWidened(c, runUnary<Op>);
  launchUnary(Op, bf16, c.inputs[0].data, c.outputs[0].data, c.inputs[0].numel(), streamOf(c));
}

void runBroadcastTo(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &y = c.outputs[0];
  launchGatherStrided(x.data, broadcastMap(x.shape, y.shape, c.op), y.data, y.numel(),
                      int(dtypeSize(x.dtype)), streamOf(c));
}

//===----------------------------------------------------------------------===//
// Reductions, softmax, global_norm
//===----------------------------------------------------------------------===//

template <ReduceKind Op> void runReduce(const KernelCall &c) {
  const TensorArg &x = c.inputs[0];
  checkRank(x.shape.size(), c.op);
  std::vector<int64_t> axes = c.attrs.getInts("axes");
  std::vector<bool> reducedAxis(x.shape.size(), false);
  for (int64_t a : axes)
    reducedAxis[size_t(a)] = true;
  Shape strides = contiguousStrides(x.shape);
  IndexMap kept, reduced;
  int64_t keptCount = 1, reducedCount = 1;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    IndexMap &m = reducedAxis[d] ? reduced : kept;
    m.shape[m.rank] = x.shape[d];
    m.stride[m.rank] = strides[d];
    ++m.rank;
    (reducedAxis[d] ? reducedCount : keptCount) *= x.shape[d];
  }
  if (keptCount == 0)
    return;
  launchReduce(Op, x.as<float>(), kept, keptCount, reduced, reducedCount,
               c.outputs[0].as<float>(), streamOf(c));
}

void runSoftmax(const KernelCall &c) {
  AxisSplit v = axisSplit(c.inputs[0].shape, c.attrs.getInt("axis"));
  launchSoftmax(c.inputs[0].as<float>(), c.outputs[0].as<float>(), v.outer, v.size, v.inner,
                streamOf(c));
}

void runSoftmaxGrad(const KernelCall &c) {
  AxisSplit v = axisSplit(c.inputs[0].shape, c.attrs.getInt("axis"));
  launchSoftmaxGrad(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.outputs[0].as<float>(),
                    v.outer, v.size, v.inner, streamOf(c));
}

void runGlobalNorm(const KernelCall &c) {
  std::vector<const void *> tensors;
  std::vector<int64_t> counts;
  std::unique_ptr<bool[]> bf16(new bool[c.inputs.size()]);
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    tensors.push_back(c.inputs[i].data);
    counts.push_back(c.inputs[i].numel());
    bf16[i] = c.inputs[i].dtype == DType::BF16;
  }
  launchGlobalNorm(tensors.data(), bf16.get(), counts.data(), int(tensors.size()),
                   c.outputs[0].as<float>(), streamOf(c));
}

void runNormPartial(const KernelCall &c) {
  launchNormPartial(c.inputs[0].data, c.inputs[0].dtype == DType::BF16, c.inputs[0].numel(),
                    c.outputs[0].as<double>(), streamOf(c));
}

void runNormCombine(const KernelCall &c) {
  std::vector<const double *> partials;
  std::vector<int64_t> counts;
  for (const TensorArg &t : c.inputs) {
    partials.push_back(t.as<double>());
    counts.push_back(t.numel());
  }
  launchNormCombine(partials.data(), counts.data(), int(partials.size()),
                    c.outputs[0].as<float>(), streamOf(c));
}

//===----------------------------------------------------------------------===//
// Data movement and casts
//===----------------------------------------------------------------------===//

void copyWhole(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &y = c.outputs[0];
  if (x.data != y.data && x.bytes())
    check(cudaMemcpyAsync(y.data, x.data, x.bytes(), cudaMemcpyDeviceToDevice, streamOf(c)),
          "reshape (cudaMemcpyAsync)");
}

void runTranspose(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &y = c.outputs[0];
  checkRank(x.shape.size(), c.op);
  std::vector<int64_t> perm = c.attrs.getInts("perm");
  Shape strides = contiguousStrides(x.shape);
  IndexMap map;
  map.rank = int(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    map.shape[d] = y.shape[d];
    map.stride[d] = strides[size_t(perm[d])];
  }
  launchGatherStrided(x.data, map, y.data, y.numel(), int(dtypeSize(x.dtype)), streamOf(c));
}

void runSlice(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &y = c.outputs[0];
  int64_t axis = c.attrs.getInt("axis");
  AxisSplit v = axisSplit(x.shape, axis);
  launchSlice(x.data, v.outer, v.size, v.inner, c.attrs.getInt("start"), y.shape[size_t(axis)],
              c.attrs.getInt("step", 1), y.data, int(dtypeSize(x.dtype)), streamOf(c));
}

void runSliceGrad(const KernelCall &c) {
  const TensorArg &dy = c.inputs[0], &dx = c.outputs[0];
  int64_t axis = c.attrs.getInt("axis");
  AxisSplit v = axisSplit(dx.shape, axis);
  launchSliceGrad(dy.data, v.outer, v.size, v.inner, c.attrs.getInt("start"),
                  dy.shape[size_t(axis)], c.attrs.getInt("step", 1), dx.data,
                  int(dtypeSize(dx.dtype)), streamOf(c));
}

void runConcat(const KernelCall &c) {
  const TensorArg &y = c.outputs[0];
  int64_t axis = c.attrs.getInt("axis"), offset = 0;
  AxisSplit out = axisSplit(y.shape, axis);
  for (const TensorArg &t : c.inputs) {
    int64_t size = t.shape[size_t(axis)];
    launchConcatPart(t.data, out.outer, size, out.inner, offset, out.size, y.data,
                     int(dtypeSize(y.dtype)), streamOf(c));
    offset += size;
  }
}

void runGather(const KernelCall &c) {
  const TensorArg &data = c.inputs[0], &idx = c.inputs[1];
  AxisSplit v = axisSplit(data.shape, c.attrs.getInt("axis"));
  launchGather(data.data, v.outer, v.size, v.inner, idx.data, idx.dtype == DType::I64,
               idx.numel(), c.outputs[0].data, int(dtypeSize(data.dtype)), deviceErrors(),
               DeviceError::GatherIndex, streamOf(c));
}

void runGatherGrad(const KernelCall &c) {
  const TensorArg &idx = c.inputs[0], &dd = c.outputs[0];
  AxisSplit v = axisSplit(dd.shape, c.attrs.getInt("axis"));
  launchGatherGrad(idx.data, idx.dtype == DType::I64, idx.numel(), c.inputs[1].as<float>(),
                   v.outer, v.size, v.inner, dd.as<float>(), deviceErrors(),
                   DeviceError::GatherGradIndex, streamOf(c));
}

int castCode(DType d) {
  switch (d) {
  case DType::F32: return 0;
  case DType::BF16: return 1;
  case DType::I32: return 2;
  case DType::I64: return 3;
  default: return -1;
  }
}

void runCast(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &y = c.outputs[0];
  if (x.dtype == y.dtype)
    return copyWhole(c);
  launchCast(castCode(x.dtype), castCode(y.dtype), x.data, y.data, x.numel(), streamOf(c));
}

} // namespace

void registerGenericOps(KernelTable &t, const KernelTable &cpu) {
  auto add = [&](const char *op, void (*run)(const KernelCall &)) {
    cpu.get(op);
    t.add(op, {validateOnCuda, run, nullptr});
  };
  add("matmul", runMatmul);
  add("add", runBinary<BinaryKind::Add>);
  add("sub", runBinary<BinaryKind::Sub>);
  add("mul", runBinary<BinaryKind::Mul>);
  add("div", runBinary<BinaryKind::Div>);
  add("neg", runUnary<UnaryKind::Neg>);
  add("exp", runUnary<UnaryKind::Exp>);
  add("sqrt", runUnary<UnaryKind::Sqrt>);
  add("rsqrt", runUnary<UnaryKind::Rsqrt>);
  add("silu", runUnary<UnaryKind::Silu>);
  add("sigmoid", runUnary<UnaryKind::Sigmoid>);
  add("broadcast_to", runBroadcastTo);
  add("reduce_sum", widened<runReduce<ReduceKind::Sum>>);
  add("reduce_mean", widened<runReduce<ReduceKind::Mean>>);
  add("reduce_max", widened<runReduce<ReduceKind::Max>>);
  add("softmax", widened<runSoftmax>);
  add("softmax_grad", widened<runSoftmaxGrad>);
  add("global_norm", runGlobalNorm);
  add("norm_partial", runNormPartial);
  add("norm_combine", runNormCombine);
  add("reshape", copyWhole);
  add("transpose", runTranspose);
  add("slice", runSlice);
  add("slice_grad", runSliceGrad);
  add("concat", runConcat);
  add("gather", runGather);
  add("gather_grad", widened<runGatherGrad>);
  add("cast", runCast);
}

} // namespace off::cuda::detail
