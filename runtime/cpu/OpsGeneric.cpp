// Kernel-table adapters for the generic graph ops: matmul, element-wise
// arithmetic, reductions, softmax, data movement, casts, global_norm and its
// two halves (norm_partial, norm_combine). Each
// op has a validate function (shapes, dtypes, attributes, as the op's
// verifier in dialects/off states them) and a run function that calls the
// kernel.
#include "runtime/cpu/Elementwise.h"
#include "runtime/cpu/Matmul.h"
#include "runtime/cpu/Movement.h"
#include "runtime/cpu/OpsCommon.h"
#include "runtime/cpu/CpuWorkspace.h"
#include "runtime/cpu/Reduce.h"
#include "runtime/cpu/Shape.h"

#include <algorithm>
#include <set>

namespace off::cpu::detail {

namespace {


//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

void validateMatmul(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &lhs = a.in(0, "lhs"), &rhs = a.in(1, "rhs");
  if (lhs.dtype != DType::BF16)
    a.expectDtype(lhs, "lhs", DType::F32);
  a.expectSameDtype(lhs, "lhs", rhs, "rhs");
  if (lhs.rank() < 2 || rhs.rank() < 2)
    a.fail("lhs and rhs need rank >= 2, got " + lhs.describe() + " and " + rhs.describe());
  bool tl = c.attrs.getBool("transpose_lhs"), tr = c.attrs.getBool("transpose_rhs");
  int64_t m = lhs.dim(tl ? -1 : -2), kl = lhs.dim(tl ? -2 : -1);
  int64_t kr = rhs.dim(tr ? -1 : -2), n = rhs.dim(tr ? -2 : -1);
  if (kl != kr)
    a.fail("contraction dimensions differ: " + lhs.describe() + " and " + rhs.describe());
  Shape batch;
  if (!broadcastShapes(std::span(lhs.shape).first(size_t(lhs.rank() - 2)),
                       std::span(rhs.shape).first(size_t(rhs.rank() - 2)), batch))
    a.fail("batch dimensions of " + lhs.describe() + " and " + rhs.describe() +
           " do not broadcast");
  batch.push_back(m);
  batch.push_back(n);
  a.expectShape(a.out(0, "result", lhs.dtype), "result", batch);
}

void runMatmul(const KernelCall &c) {
  const TensorArg &lhs = c.inputs[0], &rhs = c.inputs[1];
  bool tl = c.attrs.getBool("transpose_lhs"), tr = c.attrs.getBool("transpose_rhs");
  if (lhs.dtype == DType::BF16)
    return matmulBf16(lhs.as<uint16_t>(), lhs.shape, tl, rhs.as<uint16_t>(), rhs.shape, tr,
                      c.outputs[0].as<uint16_t>());
  matmul(lhs.as<float>(), lhs.shape, tl, rhs.as<float>(), rhs.shape, tr,
         c.outputs[0].as<float>());
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

void validateBinary(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &lhs = a.in(0, "lhs", DType::F32), &rhs = a.in(1, "rhs", DType::F32);
  Shape shape;
  if (!broadcastShapes(lhs.shape, rhs.shape, shape))
    a.fail("operand shapes " + lhs.describe() + " and " + rhs.describe() + " do not broadcast");
  a.expectShape(a.out(0, "result", DType::F32), "result", shape);
}

template <BinaryOp Op> void runBinary(const KernelCall &c) {
  binary(Op, c.inputs[0].as<float>(), c.inputs[0].shape, c.inputs[1].as<float>(),
         c.inputs[1].shape, c.outputs[0].as<float>(), c.outputs[0].shape);
}

void validateUnary(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input", DType::F32);
  a.expectShape(a.out(0, "result", DType::F32), "result", x.shape);
}

template <UnaryOp Op> void runUnary(const KernelCall &c) {
  unary(Op, c.inputs[0].as<float>(), c.outputs[0].as<float>(), c.inputs[0].numel());
}

void validateBroadcastTo(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input"), &y = a.out(0, "result");
  a.expectSameDtype(x, "input", y, "result");
  if (!broadcastsTo(x.shape, y.shape))
    a.fail("input " + x.describe() + " does not broadcast to " + y.describe());
}

void runBroadcastTo(const KernelCall &c) {
  broadcastTo(c.inputs[0].data, c.inputs[0].shape, c.outputs[0].data, c.outputs[0].shape,
              dtypeSize(c.inputs[0].dtype));
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

Shape reducedShape(const Args &a, const TensorArg &x, std::vector<int64_t> axes, bool keep) {
  std::set<int64_t> seen;
  for (int64_t axis : axes) {
    if (axis < 0 || axis >= x.rank())
      a.fail("axis " + std::to_string(axis) + " out of range for " + x.describe());
    if (!seen.insert(axis).second)
      a.fail("axis " + std::to_string(axis) + " repeated");
  }
  Shape shape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (!seen.count(d))
      shape.push_back(x.shape[size_t(d)]);
    else if (keep)
      shape.push_back(1);
  }
  return shape;
}

void validateReduce(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input", DType::F32);
  Shape shape = reducedShape(a, x, c.attrs.getInts("axes"), c.attrs.getBool("keepdims"));
  a.expectShape(a.out(0, "result", DType::F32), "result", shape);
}

template <ReduceOp Op> void runReduce(const KernelCall &c) {
  reduce(Op, c.inputs[0].as<float>(), c.inputs[0].shape, c.attrs.intsView("axes"),
         c.outputs[0].as<float>());
}

void validateSoftmax(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input", DType::F32);
  a.axis("axis", x.rank());
  a.expectShape(a.out(0, "result", DType::F32), "result", x.shape);
}

void runSoftmax(const KernelCall &c) {
  AxisView v = axisView(c.inputs[0].shape, c.attrs.getInt("axis"));
  softmax(c.inputs[0].as<float>(), c.outputs[0].as<float>(), v.outer, v.size, v.inner,
          reinterpret_cast<float *>(c.workspace.data()));
}

void validateSoftmaxGrad(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &y = a.in(0, "output", DType::F32);
  a.expectShape(a.in(1, "grad_output", DType::F32), "grad_output", y.shape);
  a.axis("axis", y.rank());
  a.expectShape(a.out(0, "grad_input", DType::F32), "grad_input", y.shape);
}

void runSoftmaxGrad(const KernelCall &c) {
  AxisView v = axisView(c.inputs[0].shape, c.attrs.getInt("axis"));
  softmaxGrad(c.inputs[0].as<float>(), c.inputs[1].as<float>(), c.outputs[0].as<float>(),
              v.outer, v.size, v.inner, reinterpret_cast<float *>(c.workspace.data()));
}

void validateGlobalNorm(const KernelCall &c) {
  Args a(c, 1, 1, /*variadic=*/true);
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].dtype != DType::BF16)
      a.in(i, "inputs", DType::F32);
  a.expectShape(a.out(0, "norm", DType::F32), "norm", std::span<const int64_t>());
}

void runGlobalNorm(const KernelCall &c) {
  *c.outputs[0].as<float>() =
      globalNorm(c.inputs, reinterpret_cast<double *>(c.workspace.data()));
}

void validateNormPartial(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = c.inputs[0];
  if (x.dtype != DType::BF16)
    a.in(0, "input", DType::F32);
  a.expectShape(a.out(0, "partial", DType::F64), "partial",
                {(x.numel() + kNormBlock - 1) / kNormBlock});
}

void runNormPartial(const KernelCall &c) {
  normPartial(c.inputs[0], c.outputs[0].as<double>());
}

void validateNormCombine(const KernelCall &c) {
  Args a(c, 1, 1, /*variadic=*/true);
  for (size_t i = 0; i < c.inputs.size(); ++i)
    a.expectRank(a.in(i, "partials", DType::F64), "partials", 1);
  a.expectShape(a.out(0, "norm", DType::F32), "norm", std::span<const int64_t>());
}

void runNormCombine(const KernelCall &c) {
  *c.outputs[0].as<float>() = normCombine(c.inputs);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

void validateReshape(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input"), &y = a.out(0, "result");
  a.expectSameDtype(x, "input", y, "result");
  if (x.numel() != y.numel())
    a.fail("input " + x.describe() + " and result " + y.describe() +
           " differ in element count");
}

void runReshape(const KernelCall &c) {
  copyBytes(c.inputs[0].data, c.outputs[0].data, int64_t(c.inputs[0].bytes()));
}

void validateTranspose(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input"), &y = a.out(0, "result");
  a.expectSameDtype(x, "input", y, "result");
  std::vector<int64_t> perm = c.attrs.getInts("perm");
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  bool isPerm = int64_t(perm.size()) == x.rank();
  for (size_t i = 0; isPerm && i < sorted.size(); ++i)
    isPerm = sorted[i] == int64_t(i);
  if (!isPerm)
    a.fail("perm " + shapeText(perm) + " is not a permutation of the dims of " + x.describe());
  Shape shape;
  for (int64_t p : perm)
    shape.push_back(x.shape[size_t(p)]);
  a.expectShape(y, "result", shape);
}

void runTranspose(const KernelCall &c) {
  transpose(c.inputs[0].data, c.inputs[0].shape, c.attrs.intsView("perm"), c.outputs[0].data,
            dtypeSize(c.inputs[0].dtype));
}

struct SliceAttrs {
  int64_t axis, start, end, step;
};

SliceAttrs sliceAttrs(const Args &a, const TensorArg &full) {
  SliceAttrs s{a.axis("axis", full.rank()), a.attrs().getInt("start"), a.attrs().getInt("end"),
               a.attrs().getInt("step", 1)};
  if (s.step < 1)
    a.fail("step must be >= 1, got " + std::to_string(s.step));
  if (s.start < 0 || s.start > s.end || s.end > full.shape[size_t(s.axis)])
    a.fail("needs 0 <= start <= end <= " + std::to_string(full.shape[size_t(s.axis)]) +
           ", got start " + std::to_string(s.start) + ", end " + std::to_string(s.end));
  return s;
}

Shape slicedShape(const TensorArg &full, const SliceAttrs &s) {
  Shape shape = full.shape;
  shape[size_t(s.axis)] = sliceLength(s.start, s.end, s.step);
  return shape;
}

void validateSlice(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input"), &y = a.out(0, "result");
  a.expectSameDtype(x, "input", y, "result");
  a.expectShape(y, "result", slicedShape(x, sliceAttrs(a, x)));
}

void runSlice(const KernelCall &c) {
  const TensorArg &x = c.inputs[0];
  SliceAttrs s{c.attrs.getInt("axis"), c.attrs.getInt("start"), c.attrs.getInt("end"),
               c.attrs.getInt("step", 1)};
  AxisView v = axisView(x.shape, s.axis);
  slice(x.data, v.outer, v.size, v.inner, s.start, s.end, s.step, c.outputs[0].data,
        dtypeSize(x.dtype));
}

void validateSliceGrad(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &dy = a.in(0, "grad_output"), &dx = a.out(0, "grad_input");
  a.expectSameDtype(dy, "grad_output", dx, "grad_input");
  a.expectShape(dy, "grad_output", slicedShape(dx, sliceAttrs(a, dx)));
}

void runSliceGrad(const KernelCall &c) {
  const TensorArg &dx = c.outputs[0];
  SliceAttrs s{c.attrs.getInt("axis"), c.attrs.getInt("start"), c.attrs.getInt("end"),
               c.attrs.getInt("step", 1)};
  AxisView v = axisView(dx.shape, s.axis);
  sliceGrad(c.inputs[0].data, v.outer, v.size, v.inner, s.start, s.end, s.step, dx.data,
            dtypeSize(dx.dtype));
}

void validateConcat(const KernelCall &c) {
  Args a(c, 1, 1, /*variadic=*/true);
  const TensorArg &first = c.inputs[0], &y = a.out(0, "result");
  int64_t axis = a.axis("axis", first.rank());
  Shape shape = first.shape;
  shape[size_t(axis)] = 0;
  for (const TensorArg &t : c.inputs) {
    a.expectSameDtype(first, "inputs", t, "inputs");
    if (t.rank() != first.rank())
      a.fail("inputs differ in rank: " + first.describe() + " and " + t.describe());
    for (int64_t d = 0; d < t.rank(); ++d)
      if (d != axis && t.shape[size_t(d)] != first.shape[size_t(d)])
        a.fail("inputs " + first.describe() + " and " + t.describe() + " differ in dimension " +
               std::to_string(d) + ", which is not the concat axis");
    shape[size_t(axis)] += t.shape[size_t(axis)];
  }
  a.expectSameDtype(first, "inputs", y, "result");
  a.expectShape(y, "result", shape);
}

void runConcat(const KernelCall &c) {
  int64_t axis = c.attrs.getInt("axis");
  std::vector<const void *> inputs;
  std::vector<int64_t> sizes;
  for (const TensorArg &t : c.inputs) {
    inputs.push_back(t.data);
    sizes.push_back(t.shape[size_t(axis)]);
  }
  AxisView v = axisView(c.outputs[0].shape, axis);
  concat(inputs, sizes, v.outer, v.inner, c.outputs[0].data, dtypeSize(c.outputs[0].dtype));
}

// data.shape[:axis] + indices.shape + data.shape[axis+1:]
Shape gatheredShape(const TensorArg &data, const TensorArg &indices, int64_t axis) {
  Shape shape(data.shape.begin(), data.shape.begin() + axis);
  for (int64_t d : indices.shape)
    shape.push_back(d);
  for (int64_t d = axis + 1; d < data.rank(); ++d)
    shape.push_back(data.shape[size_t(d)]);
  return shape;
}

void validateGather(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &data = a.in(0, "data"), &indices = a.indexIn(1, "indices");
  const TensorArg &y = a.out(0, "result");
  a.expectSameDtype(data, "data", y, "result");
  a.expectShape(y, "result", gatheredShape(data, indices, a.axis("axis", data.rank())));
}

template <typename Index> void gatherTyped(const KernelCall &c) {
  const TensorArg &data = c.inputs[0], &indices = c.inputs[1];
  AxisView v = axisView(data.shape, c.attrs.getInt("axis"));
  gather(data.data, v.outer, v.size, v.inner, indices.as<Index>(), indices.numel(),
         c.outputs[0].data, dtypeSize(data.dtype));
}

void runGather(const KernelCall &c) {
  c.inputs[1].dtype == DType::I32 ? gatherTyped<int32_t>(c) : gatherTyped<int64_t>(c);
}

void validateGatherGrad(const KernelCall &c) {
  Args a(c, 2, 1);
  const TensorArg &indices = a.indexIn(0, "indices");
  const TensorArg &dy = a.in(1, "grad_output", DType::F32);
  const TensorArg &dd = a.out(0, "grad_data", DType::F32);
  a.expectShape(dy, "grad_output", gatheredShape(dd, indices, a.axis("axis", dd.rank())));
}

template <typename Index> void gatherGradTyped(const KernelCall &c) {
  const TensorArg &indices = c.inputs[0], &dd = c.outputs[0];
  AxisView v = axisView(dd.shape, c.attrs.getInt("axis"));
  gatherGrad(indices.as<Index>(), indices.numel(), c.inputs[1].as<float>(), v.outer, v.size,
             v.inner, dd.as<float>());
}

void runGatherGrad(const KernelCall &c) {
  c.inputs[0].dtype == DType::I32 ? gatherGradTyped<int32_t>(c) : gatherGradTyped<int64_t>(c);
}

//===----------------------------------------------------------------------===//
// cast
//===----------------------------------------------------------------------===//

bool castSupported(DType from, DType to) {
  if (from == to)
    return true;
  switch (from) {
  case DType::F32: return to == DType::BF16;
  case DType::BF16: return to == DType::F32;
  case DType::I32: return to == DType::I64 || to == DType::F32;
  case DType::I64: return to == DType::I32 || to == DType::F32;
  default: return false;
  }
}

void validateCast(const KernelCall &c) {
  Args a(c, 1, 1);
  const TensorArg &x = a.in(0, "input"), &y = a.out(0, "result");
  a.expectShape(y, "result", x.shape);
  if (!castSupported(x.dtype, y.dtype))
    a.fail(std::string("casting ") + dtypeName(x.dtype) + " to " +
           dtypeName(y.dtype) + " is not supported by the CPU backend");
}

void runCast(const KernelCall &c) {
  const TensorArg &x = c.inputs[0], &y = c.outputs[0];
  int64_t n = x.numel();
  if (x.dtype == y.dtype)
    return copyBytes(x.data, y.data, int64_t(x.bytes()));
  if (x.dtype == DType::F32)
    return castF32ToBf16(x.as<float>(), y.as<uint16_t>(), n);
  if (x.dtype == DType::BF16)
    return castBf16ToF32(x.as<uint16_t>(), y.as<float>(), n);
  if (x.dtype == DType::I32)
    return y.dtype == DType::I64 ? castI32ToI64(x.as<int32_t>(), y.as<int64_t>(), n)
                                 : castIntToF32(x.as<int32_t>(), y.as<float>(), n);
  return y.dtype == DType::I32 ? castI64ToI32(x.as<int64_t>(), y.as<int32_t>(), n)
                               : castIntToF32(x.as<int64_t>(), y.as<float>(), n);
}

} // namespace

void registerGenericOps(KernelTable &table) {
  table.add("matmul", {validateMatmul, runMatmul, cpuWorkspaceBytes});
  table.add("add", {validateBinary, runBinary<BinaryOp::Add>, cpuWorkspaceBytes});
  table.add("sub", {validateBinary, runBinary<BinaryOp::Sub>, cpuWorkspaceBytes});
  table.add("mul", {validateBinary, runBinary<BinaryOp::Mul>, cpuWorkspaceBytes});
  table.add("div", {validateBinary, runBinary<BinaryOp::Div>, cpuWorkspaceBytes});
  table.add("neg", {validateUnary, runUnary<UnaryOp::Neg>, cpuWorkspaceBytes});
  table.add("exp", {validateUnary, runUnary<UnaryOp::Exp>, cpuWorkspaceBytes});
  table.add("sqrt", {validateUnary, runUnary<UnaryOp::Sqrt>, cpuWorkspaceBytes});
  table.add("rsqrt", {validateUnary, runUnary<UnaryOp::Rsqrt>, cpuWorkspaceBytes});
  table.add("silu", {validateUnary, runUnary<UnaryOp::Silu>, cpuWorkspaceBytes});
  table.add("sigmoid", {validateUnary, runUnary<UnaryOp::Sigmoid>, cpuWorkspaceBytes});
  table.add("broadcast_to", {validateBroadcastTo, runBroadcastTo, cpuWorkspaceBytes});
  table.add("reduce_sum", {validateReduce, runReduce<ReduceOp::Sum>, cpuWorkspaceBytes});
  table.add("reduce_mean", {validateReduce, runReduce<ReduceOp::Mean>, cpuWorkspaceBytes});
  table.add("reduce_max", {validateReduce, runReduce<ReduceOp::Max>, cpuWorkspaceBytes});
  table.add("softmax", {validateSoftmax, runSoftmax, cpuWorkspaceBytes});
  table.add("softmax_grad", {validateSoftmaxGrad, runSoftmaxGrad, cpuWorkspaceBytes});
  table.add("global_norm", {validateGlobalNorm, runGlobalNorm, cpuWorkspaceBytes});
  table.add("norm_partial", {validateNormPartial, runNormPartial, cpuWorkspaceBytes});
  table.add("norm_combine", {validateNormCombine, runNormCombine, cpuWorkspaceBytes});
  table.add("reshape", {validateReshape, runReshape, cpuWorkspaceBytes});
  table.add("transpose", {validateTranspose, runTranspose, cpuWorkspaceBytes});
  table.add("slice", {validateSlice, runSlice, cpuWorkspaceBytes});
  table.add("slice_grad", {validateSliceGrad, runSliceGrad, cpuWorkspaceBytes});
  table.add("concat", {validateConcat, runConcat, cpuWorkspaceBytes});
  table.add("gather", {validateGather, runGather, cpuWorkspaceBytes});
  table.add("gather_grad", {validateGatherGrad, runGatherGrad, cpuWorkspaceBytes});
  table.add("cast", {validateCast, runCast, cpuWorkspaceBytes});
}

} // namespace off::cpu::detail
