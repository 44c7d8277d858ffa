#include "runtime/cpu/Dot.h"

namespace off::cpu {

double dotLanesScalar(const float *a, const float *b, int64_t N) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < N; ++i)
    lane[i % 8] += double(a[i]) * double(b[i]);
  double sum = 0.0;
  for (double l : lane)
    sum += l;
  return sum;
}

bool cpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

double dotLanes(const float *a, const float *b, int64_t N) {
  return cpuHasAvx2() ? dotLanesAvx2(a, b, N) : dotLanesScalar(a, b, N);
}

} // namespace off::cpu
