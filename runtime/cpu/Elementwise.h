// Element-wise kernels: binary arithmetic with NumPy broadcasting, unary
// math, and broadcast_to (the backward of reductions and of broadcasting).
//
// Each element is one IEEE operation (or Exp.h's exp, or sqrt) on the calling
// thread's piece, so results do not depend on the thread count or on the
// compiler's vectorisation (no reassociation, -ffp-contract=off).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace off::cpu {

enum class BinaryOp { Add, Sub, Mul, Div };
enum class UnaryOp { Neg, Exp, Sqrt, Rsqrt, Silu, Sigmoid };

/// out = a (op) b. Legend: shapes broadcast as NumPy.
///   a [aShape], b [bShape], out [outShape] = broadcast(aShape, bShape)
void binary(BinaryOp op, const float *a, std::span<const int64_t> aShape, const float *b,
            std::span<const int64_t> bShape, float *out, std::span<const int64_t> outShape);

/// y = op(x), N elements. Neg -x, Exp exp(x), Sqrt sqrt(x), Rsqrt 1/sqrt(x),
/// Silu x/(1+exp(-x)), Sigmoid 1/(1+exp(-x)), with exp as Exp.h defines it.
///   x [N], y [N] (y may be x)
void unary(UnaryOp op, const float *x, float *y, int64_t N);

/// One element of unary(): the definition the kernel loops over.
float unaryElement(UnaryOp op, float x);

/// y = x broadcast to yShape, for elements of any type of `elementSize` bytes.
///   x [xShape] (broadcasts to yShape), y [yShape]
void broadcastTo(const void *x, std::span<const int64_t> xShape, void *y,
                 std::span<const int64_t> yShape, size_t elementSize);

} // namespace off::cpu
