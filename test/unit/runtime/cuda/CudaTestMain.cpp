// main() of cuda_tests: with --needs-device and no usable GPU it prints why
// and exits 77, which ctest reports as skipped (SKIP_RETURN_CODE 77), never
// as passed.
#include "runtime/cuda/CudaBackend.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
  bool needsDevice = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--needs-device") == 0)
      needsDevice = true;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  std::string why;
  if (needsDevice && !off::cuda::cudaUsable(&why)) {
    std::printf("SKIPPED: these tests need a CUDA device; %s\n", why.c_str());
    return 77;
  }
  if (needsDevice)
    std::printf("CUDA GEMM: %s\n", off::cuda::cudaGemmPath().c_str());
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
