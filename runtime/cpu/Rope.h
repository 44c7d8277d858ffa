// Rotary position embedding in Hugging Face's rotate-half form (Llama):
//   y = x * cos + rotate_half(x) * sin,  rotate_half(x) = [-x[D/2:], x[:D/2]]
// so for d < D/2:  y[d] = x[d] cos[d] - x[d+D/2] sin[d]
//    for d >= D/2: y[d] = x[d] cos[d] + x[d-D/2] sin[d]
// and its backward (the transposed rotation, rope is linear in x):
//   dx = dy * cos + rotate_half^T(dy * sin),  rotate_half^T(u) = [u[D/2:], -u[:D/2]]
//
// Legend: B batch, H heads, T sequence, D head dim (even).
//   x, y, dy, dx [B, H, T, D];  cos, sin [T, D] (each frequency in both halves)
// y may be x, dx may be dy (in place).
#pragma once

#include <cstdint>

namespace off::cpu {

void ropeForward(const float *x, const float *cos, const float *sin, float *y, int64_t B,
                 int64_t H, int64_t T, int64_t D);

void ropeBackward(const float *dy, const float *cos, const float *sin, float *dx, int64_t B,
                  int64_t H, int64_t T, int64_t D);

} // namespace off::cpu
