// The exponential of the CPU kernels (softmax, attention, cross_entropy,
// swiglu, silu, sigmoid, exp): one definition with a scalar reference and an
// AVX2 kernel that give the same bits, so that results do not depend on the
// CPU's vector width.
//
// Definition of expAffine(x, a, b), element by element:
//   t = (a * x) - b                      two f32 roundings (a = 1 or -1: exact)
//   NaN -> NaN; t > 88.7228394 -> +inf; t < -103.278929 -> +0
//   t' = t clamped; n = nearbyint(t' * log2(e))
//   r = fma(n, -0.693359375, t'); r = fma(n, 2.12194440e-4, r)   (Cody-Waite)
//   p = Horner(r) of the degree-5 minimax polynomial of Cephes' expf, in fma
//   y = fma(p, r*r, r) + 1;  result = (y * 2^(n>>1)) * 2^(n - (n>>1))
// Every step is one IEEE operation (fma included); the error is within
// 2 ulp of exp(t) (tested), and t < -87.34 gives denormals (one rounding).
//
// Legend: N elements.   x [N], y [N] (y may be x)
#pragma once

#include <cstdint>

namespace off::cpu {

float expAffineScalar(float x, float a, float b);

void expAffineArrayScalar(const float *x, float a, float b, float *y, int64_t N);
void expAffineArrayAvx2(const float *x, float a, float b, float *y, int64_t N); // needs AVX2

/// y[i] = exp((a * x[i]) - b) as defined above: AVX2 where the CPU has it.
void expAffine(const float *x, float a, float b, float *y, int64_t N);

} // namespace off::cpu
