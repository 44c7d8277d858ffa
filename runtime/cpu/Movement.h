// Data movement: transpose, slice (+ its backward), concat, gather (+ its
// backward), casts. Copies work on elements of any size; gather_grad adds
// f32. Legend: a tensor around its `axis` is seen as [O, A, I] (O outer:
// dims before the axis, A the axis, I inner: dims after it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace off::cpu {

/// y dimension i is x dimension perm[i].
///   x [xShape], y [xShape[perm[0]], xShape[perm[1]], ...]
void transpose(const void *x, std::span<const int64_t> xShape, std::span<const int64_t> perm,
               void *y, size_t elementSize);

/// Number of indices start, start+step, ... below end.
int64_t sliceLength(int64_t start, int64_t end, int64_t step);

/// y = x[:, start:end:step, :].   x [O, A, I], y [O, sliceLength, I]
void slice(const void *x, int64_t O, int64_t A, int64_t I, int64_t start, int64_t end,
           int64_t step, void *y, size_t elementSize);

/// dx = zeros, dx[:, start:end:step, :] = dy.   dy [O, sliceLength, I], dx [O, A, I]
void sliceGrad(const void *dy, int64_t O, int64_t A, int64_t I, int64_t start, int64_t end,
               int64_t step, void *dx, size_t elementSize);

/// y = inputs joined along the axis.   inputs[k] [O, sizes[k], I], y [O, sum(sizes), I]
void concat(std::span<const void *const> inputs, std::span<const int64_t> sizes, int64_t O,
            int64_t I, void *y, size_t elementSize);

/// y[o, n, i] = data[o, indices[n], i], as ONNX Gather: an index in [-A, 0)
/// counts from the end; others outside [0, A) throw std::out_of_range naming
/// the first one.   data [O, A, I], indices [N], y [O, N, I]
template <typename Index>
void gather(const void *data, int64_t O, int64_t A, int64_t I, const Index *indices, int64_t N,
            void *y, size_t elementSize);

/// dData = zeros; dData[o, indices[n], i] += dy[o, n, i] for n in order
/// (deterministic scatter-add).   indices [N], dy [O, N, I], dData [O, A, I]
template <typename Index>
void gatherGrad(const Index *indices, int64_t N, const float *dy, int64_t O, int64_t A,
                int64_t I, float *dData);

/// Casts of N elements. f32 -> bf16 rounds to nearest even (any NaN becomes
/// 0x7FC0, as torch); bf16 -> f32 and i32 -> i64 are exact; i64 -> i32 requires the
/// value to fit (else std::out_of_range); integer -> f32 rounds to nearest.
void castF32ToBf16(const float *x, uint16_t *y, int64_t N);
void castBf16ToF32(const uint16_t *x, float *y, int64_t N);
void castI32ToI64(const int32_t *x, int64_t *y, int64_t N);
void castI64ToI32(const int64_t *x, int32_t *y, int64_t N);
template <typename Int> void castIntToF32(const Int *x, float *y, int64_t N);

/// y = x, N bytes (threaded memcpy; y == x is a no-op).
void copyBytes(const void *x, void *y, int64_t N);

} // namespace off::cpu
