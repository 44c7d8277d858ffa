// The gated MLP activation of Llama and its backward:
//   y = silu(gate) * up,  silu(g) = g / (1 + exp(-g))   (as torch's silu)
//   dup   = dy * silu(gate)
//   dgate = ((dy * up) * s) * (1 + gate * (1 - s)),  s = 1 / (1 + exp(-gate))
//   (torch.autograd's order: silu_backward applied to dy * up), with
//   exp(-gate) as Exp.h defines it (vectorised, the same bits on any CPU)
//
// Legend: N elements (any shape, gate and up alike).
//   gate, up, y, dy, dgate, dup [N]
#pragma once

#include <cstdint>

namespace off::cpu {

void swigluForward(const float *gate, const float *up, float *y, int64_t N);

void swigluBackward(const float *gate, const float *up, const float *dy, float *dgate,
                    float *dup, int64_t N);

} // namespace off::cpu
