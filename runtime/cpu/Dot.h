// The one vectorised reduction primitive of the CPU kernels: a dot product
// of two f32 rows accumulated in double. Its definition (what both the
// scalar reference and the AVX2 kernel compute, bit for bit):
//   lane[i % 8] += double(a[i]) * double(b[i])   for i = 0 .. n-1 in order
//   result = ((lane[0] + lane[1]) + lane[2]) + ... + lane[7]
// A product of two floats is exact in double, so an fma in double rounds
// exactly like the scalar add. rms_norm, global_norm and the softmax
// backward sums use it (and sumLanes, the same for a plain sum, the softmax
// denominators); the result does not depend on the CPU's vector width.
//
// Legend: N elements.   a [N], b [N]
#pragma once

#include <cstdint>

namespace off::cpu {

double dotLanesScalar(const float *a, const float *b, int64_t N);
double dotLanesAvx2(const float *a, const float *b, int64_t N); // needs cpuHasAvx2()

/// The AVX2 kernel where the CPU has AVX2 and FMA, else the scalar one.
double dotLanes(const float *a, const float *b, int64_t N);

/// The same lane structure for a plain sum: lane[i % 8] += double(a[i]).
double sumLanesScalar(const float *a, int64_t N);
double sumLanesAvx2(const float *a, int64_t N); // needs cpuHasAvx2()
double sumLanes(const float *a, int64_t N);

/// The largest element, in lanes: lane[i % 8] = lane > a[i] ? lane : a[i]
/// (starting from -inf), then the lanes combined in order the same way. A
/// NaN may or may not come through (callers that subtract the max from every
/// element turn a NaN row into NaNs either way). -inf for N == 0.
float maxLanesScalar(const float *a, int64_t N);
float maxLanesAvx2(const float *a, int64_t N); // needs cpuHasAvx2()
float maxLanes(const float *a, int64_t N);

bool cpuHasAvx2();

} // namespace off::cpu
