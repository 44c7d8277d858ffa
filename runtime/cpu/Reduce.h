// Reductions, softmax and the global gradient norm.
//
// Order of summation (part of each kernel's definition, so results do not
// depend on threads): reduce_sum/reduce_mean add, in double, the reduced
// elements of one output in row-major order of the reduced indices;
// softmax: max in f32, e = exp(x - max) (Exp.h), sum = sumLanes(e) (Dot.h,
// double), y = e * f32(1 / sum); global_norm is below.
#pragma once

#include "runtime/backend/Kernel.h"

#include <cstdint>
#include <span>

namespace off::cpu {

enum class ReduceOp { Sum, Mean, Max };

/// Reduces x over `axes` (distinct, in range; empty = nothing reduced, a copy).
///   x [xShape], y [xShape without the axes] (keepdims does not change the
///   layout, only the shape the caller gives y)
void reduce(ReduceOp op, const float *x, std::span<const int64_t> xShape,
            std::span<const int64_t> axes, float *y);

/// Softmax along the middle dimension of x viewed as [O, A, I].
/// Legend: O outer (dims before the axis), A axis size, I inner (dims after).
///   x [O, A, I], y [O, A, I] (y may be x)
/// `scratch`: softmaxScratch(O, A, I) floats (none when I is 1).
void softmax(const float *x, float *y, int64_t O, int64_t A, int64_t I, float *scratch);

/// dx = y * (dy - d) with d = sum_axis(dy * y) as dotLanes (Dot.h), in f32.
///   y, dy, dx [O, A, I]
/// `scratch`: 2 * softmaxScratch(O, A, I) floats.
void softmaxGrad(const float *y, const float *dy, float *dx, int64_t O, int64_t A, int64_t I,
                 float *scratch);

/// Floats of scratch softmax needs: a strided row (I > 1) is gathered into
/// one row per scratch slot (CpuParallel.h). Defined in CpuWorkspace.cpp,
/// as globalNormBlocks.
int64_t softmaxScratch(int64_t O, int64_t A, int64_t I);

/// sqrt of the sum of squares of every element of every tensor, as
/// clip_grad_norm_'s total norm. Definition: each tensor is cut into blocks
/// of kNormBlock elements; a block's sum is dotLanes(x, x) (Dot.h: double,
/// 8 lanes); block sums, then tensors, are added in order in double; the
/// result is sqrt in double, rounded to f32. Tensors are f32 or bf16; a bf16
/// block is widened (exactly) first, so it adds what its f32 cast would.
///   tensors[t] [sizes[t]]
constexpr int64_t kNormBlock = 1 << 16; // also NormPartialOp::kBlock, cuda::kNormElements
/// `partial`: globalNormBlocks(tensors) doubles (each block's sum).
float globalNorm(std::span<const backend::TensorArg> tensors, double *partial);
int64_t globalNormBlocks(std::span<const backend::TensorArg> tensors);

/// global_norm in two halves (off-split-norm): normPartial writes x's block
/// sums, each as globalNorm computes it; normCombine adds every element of
/// every partial in order in double and returns sqrt, rounded to f32. The
/// combine of the partials of t0, t1, ... is globalNorm({t0, t1, ...}), bit
/// for bit.
///   x [n] (f32 or bf16), partial [ceil(n / kNormBlock)] (f64)
void normPartial(const backend::TensorArg &x, double *partial);
float normCombine(std::span<const backend::TensorArg> partials);


} // namespace off::cpu
