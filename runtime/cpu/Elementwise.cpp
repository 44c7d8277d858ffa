#include "runtime/cpu/Elementwise.h"

#include "runtime/cpu/CpuParallel.h"
#include "runtime/cpu/Shape.h"

#include "runtime/cpu/Exp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace off::cpu {

namespace {

template <BinaryOp Op> inline float apply(float a, float b) {
  if constexpr (Op == BinaryOp::Add)
    return a + b;
  else if constexpr (Op == BinaryOp::Sub)
    return a - b;
  else if constexpr (Op == BinaryOp::Mul)
    return a * b;
  else
    return a / b;
}

// One inner row; the stride pairs are specialised so that the common cases
// (both contiguous, one operand a scalar along the row) vectorise.
template <BinaryOp Op>
void binaryRow(const float *a, int64_t sa, const float *b, int64_t sb, float *out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = apply<Op>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    float bv = *b;
    for (int64_t i = 0; i < n; ++i)
      out[i] = apply<Op>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    float av = *a;
    for (int64_t i = 0; i < n; ++i)
      out[i] = apply<Op>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      out[i] = apply<Op>(a[i * sa], b[i * sb]);
  }
}

template <BinaryOp Op>
void binaryLoop(const float *a, std::span<const int64_t> aShape, const float *b,
                std::span<const int64_t> bShape, float *out, std::span<const int64_t> outShape) {
  std::span<const int64_t> operands[] = {aShape, bShape};
  BroadcastLoop loop = makeBroadcastLoop(outShape, operands);
  int64_t inner = loop.inner(), sa = loop.strides[0].back(), sb = loop.strides[1].back();
  parallelRange(loop.rows(), inner, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row)
      binaryRow<Op>(a + loop.rowOffset(0, row), sa, b + loop.rowOffset(1, row), sb,
                    out + row * inner, inner);
  });
}

} // namespace

void binary(BinaryOp op, const float *a, std::span<const int64_t> aShape, const float *b,
            std::span<const int64_t> bShape, float *out, std::span<const int64_t> outShape) {
  if (numel(outShape) == 0)
    return;
  switch (op) {
  case BinaryOp::Add: return binaryLoop<BinaryOp::Add>(a, aShape, b, bShape, out, outShape);
  case BinaryOp::Sub: return binaryLoop<BinaryOp::Sub>(a, aShape, b, bShape, out, outShape);
  case BinaryOp::Mul: return binaryLoop<BinaryOp::Mul>(a, aShape, b, bShape, out, outShape);
  case BinaryOp::Div: return binaryLoop<BinaryOp::Div>(a, aShape, b, bShape, out, outShape);
  }
}

float unaryElement(UnaryOp op, float x) {
  switch (op) {
  case UnaryOp::Neg: return -x;
  case UnaryOp::Exp: return expAffineScalar(x, 1.0f, 0.0f);
  case UnaryOp::Sqrt: return std::sqrt(x);
  case UnaryOp::Rsqrt: return 1.0f / std::sqrt(x);
  case UnaryOp::Silu: return x / (1.0f + expAffineScalar(x, -1.0f, 0.0f));
  case UnaryOp::Sigmoid: return 1.0f / (1.0f + expAffineScalar(x, -1.0f, 0.0f));
  }
  return x;
}

void unary(UnaryOp op, const float *x, float *y, int64_t N) {
  constexpr int64_t kChunk = 256;
  parallelRange(N, 4, [&](int64_t begin, int64_t end) {
    float e[kChunk];
    for (int64_t c = begin; c < end; c += kChunk) {
      int64_t n = std::min(kChunk, end - c);
      const float *in = x + c;
      float *out = y + c;
      // The exp-based ops: the vectorised exp of a chunk (the same bits as
      // unaryElement's scalar form), then the element-wise rest.
      switch (op) {
      case UnaryOp::Neg:
        for (int64_t i = 0; i < n; ++i)
          out[i] = -in[i];
        break;
      case UnaryOp::Sqrt:
        for (int64_t i = 0; i < n; ++i)
          out[i] = std::sqrt(in[i]);
        break;
      case UnaryOp::Rsqrt:
        for (int64_t i = 0; i < n; ++i)
          out[i] = 1.0f / std::sqrt(in[i]);
        break;
      case UnaryOp::Exp:
        expAffine(in, 1.0f, 0.0f, out, n);
        break;
      case UnaryOp::Silu:
        expAffine(in, -1.0f, 0.0f, e, n);
        for (int64_t i = 0; i < n; ++i)
          out[i] = in[i] / (1.0f + e[i]);
        break;
      case UnaryOp::Sigmoid:
        expAffine(in, -1.0f, 0.0f, e, n);
        for (int64_t i = 0; i < n; ++i)
          out[i] = 1.0f / (1.0f + e[i]);
        break;
      }
    }
  });
}

void broadcastTo(const void *x, std::span<const int64_t> xShape, void *y,
                 std::span<const int64_t> yShape, size_t elementSize) {
  if (numel(yShape) == 0)
    return;
  std::span<const int64_t> operands[] = {xShape};
  BroadcastLoop loop = makeBroadcastLoop(yShape, operands);
  int64_t inner = loop.inner(), stride = loop.strides[0].back();
  const auto *src = static_cast<const std::byte *>(x);
  auto *dst = static_cast<std::byte *>(y);
  parallelRange(loop.rows(), inner, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const std::byte *in = src + loop.rowOffset(0, row) * int64_t(elementSize);
      std::byte *out = dst + row * inner * int64_t(elementSize);
      if (stride == 1) {
        std::memcpy(out, in, size_t(inner) * elementSize);
      } else { // stride 0: one element repeated
        for (int64_t i = 0; i < inner; ++i)
          std::memcpy(out + i * int64_t(elementSize), in, elementSize);
      }
    }
  });
}

} // namespace off::cpu
