// Internal: the constants of Exp.h's definition, shared by both kernels.
#pragma once

namespace off::cpu::detail::exp {

constexpr float kMax = 88.7228394f;   // above: +inf (ln(FLT_MAX) = 88.72283906)
constexpr float kMin = -103.278929f;  // below: +0 (ln of the smallest denormal)
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f; // few bits: n * kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;
// Cephes expf: exp(r) ~ 1 + r + r^2 * P(r) on |r| <= ln(2)/2.
constexpr float kP0 = 1.9875691500e-4f;
constexpr float kP1 = 1.3981999507e-3f;
constexpr float kP2 = 8.3334519073e-3f;
constexpr float kP3 = 4.1665795894e-2f;
constexpr float kP4 = 1.6666665459e-1f;
constexpr float kP5 = 5.0000001201e-1f;

} // namespace off::cpu::detail::exp
