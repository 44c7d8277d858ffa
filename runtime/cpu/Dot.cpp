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

double sumLanesScalar(const float *a, int64_t N) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < N; ++i)
    lane[i % 8] += double(a[i]);
  double sum = 0.0;
  for (double l : lane)
    sum += l;
  return sum;
}

double sumLanes(const float *a, int64_t N) {
  return cpuHasAvx2() ? sumLanesAvx2(a, N) : sumLanesScalar(a, N);
}

float maxLanesScalar(const float *a, int64_t N) {
  float lane[8];
  for (float &l : lane)
    l = -__builtin_huge_valf();
  for (int64_t i = 0; i < N; ++i)
    lane[i % 8] = lane[i % 8] > a[i] ? lane[i % 8] : a[i];
  float m = lane[0];
  for (int l = 1; l < 8; ++l)
    m = m > lane[l] ? m : lane[l];
  return m;
}

float maxLanes(const float *a, int64_t N) {
  return cpuHasAvx2() ? maxLanesAvx2(a, N) : maxLanesScalar(a, N);
}

bool cpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

double dotLanes(const float *a, const float *b, int64_t N) {
  return cpuHasAvx2() ? dotLanesAvx2(a, b, N) : dotLanesScalar(a, b, N);
}

} // namespace off::cpu
