// The CUDA kernel table's generic ops: matmul (cuBLASLt when it loads, else
// our GEMM), element-wise arithmetic, reductions, softmax, data movement,
// casts, global_norm. Validation is the CPU table's, so both backends accept
// and refuse the same calls.
#include "runtime/cuda/CublasLt.h"
#include "runtime/cuda/CudaOpsCommon.h"

#include <cstdlib>
#include <cstring>

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

void gemm(bool tl, bool tr, int64_t M, int64_t N, int64_t K, const float *A, int64_t sA,
          const float *B, int64_t sB, float *C, int64_t sC, int64_t batch,
          std::span<std::byte> workspace, cudaStream_t s) {
  if (M == 0 || N == 0 || batch == 0)
    return;
  CublasLt &lt = CublasLt::instance();
  if (K > 0 && !ownGemmForced() && lt.available()) {
    // An operand shared by every batch (stride 0): one call per batch.
    if (batch > 1 && (sA == 0 || sB == 0)) {
      bool done = true;
      for (int64_t b = 0; b < batch && done; ++b)
        done = lt.sgemm(tl, tr, M, N, K, A + b * sA, 0, B + b * sB, 0, C + b * sC, 0, 1,
                        workspace.data(), workspace.size(), s);
      if (done)
        return;
      // The first call found no algorithm (then none ran): our GEMM does it all.
    } else if (lt.sgemm(tl, tr, M, N, K, A, sA, B, sB, C, sC, batch, workspace.data(),
                        workspace.size(), s)) {
      return;
    }
  }
  launchSgemm(tl, tr, M, N, K, A, sA, B, sB, C, sC, batch, s);
}

void runMatmul(const KernelCall &c) {
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

template <BinaryKind Op> void runBinary(const KernelCall &c) {
  const TensorArg &l = c.inputs[0], &r = c.inputs[1], &y = c.outputs[0];
  launchBinary(Op, l.as<float>(), broadcastMap(l.shape, y.shape, c.op), r.as<float>(),
               broadcastMap(r.shape, y.shape, c.op), y.as<float>(), y.numel(), streamOf(c));
}

template <UnaryKind Op> void runUnary(const KernelCall &c) {
  launchUnary(Op, c.inputs[0].as<float>(), c.outputs[0].as<float>(), c.inputs[0].numel(),
              streamOf(c));
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
  std::vector<const float *> tensors;
  std::vector<int64_t> counts;
  for (const TensorArg &t : c.inputs) {
    tensors.push_back(t.as<float>());
    counts.push_back(t.numel());
  }
  launchGlobalNorm(tensors.data(), counts.data(), int(tensors.size()), c.outputs[0].as<float>(),
                   streamOf(c));
}

void runNormPartial(const KernelCall &c) {
  launchNormPartial(c.inputs[0].as<float>(), c.inputs[0].numel(), c.outputs[0].as<double>(),
                    streamOf(c));
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
  add("reduce_sum", runReduce<ReduceKind::Sum>);
  add("reduce_mean", runReduce<ReduceKind::Mean>);
  add("reduce_max", runReduce<ReduceKind::Max>);
  add("softmax", runSoftmax);
  add("softmax_grad", runSoftmaxGrad);
  add("global_norm", runGlobalNorm);
  add("norm_partial", runNormPartial);
  add("norm_combine", runNormCombine);
  add("reshape", copyWhole);
  add("transpose", runTranspose);
  add("slice", runSlice);
  add("slice_grad", runSliceGrad);
  add("concat", runConcat);
  add("gather", runGather);
  add("gather_grad", runGatherGrad);
  add("cast", runCast);
}

} // namespace off::cuda::detail
