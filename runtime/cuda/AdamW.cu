// AdamW on the GPU, for optimizer states the plan keeps on the device: the
// element-wise arithmetic of runtime/optim/AdamWKernels.h, operation for
// operation with IEEE roundings (__fmaf_rn, __fdiv_rn, __fsqrt_rn), so the
// bits match the CPU's host optimizer. The clip coefficient is computed on
// the device from the norm operand, as runtime/optim's clipCoefficient.
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

__global__ void adamwKernel(float *param, float *expAvg, float *expAvgSq, const float *grad,
                            const float *norm, AdamWScalars s, int64_t n) {
  float scale = 1.0f;
  if (norm) {
    float denominator = __fadd_rn(*norm, 1e-6f);
    float coefficient = __fmul_rn(__fdiv_rn(1.0f, denominator), s.maxNorm);
    scale = coefficient > 1.0f ? 1.0f : coefficient;
  }
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float g = __fmul_rn(grad[i], scale);
    float p = param[i], m = expAvg[i], v = expAvgSq[i];
    float p1 = __fmul_rn(p, s.decay);
    float d = __fsub_rn(g, m);
    float m1 = s.lerpWeightSmall ? __fmaf_rn(s.lerpWeight, d, m) : __fmaf_rn(s.lerpWeightM1, d, g);
    float v1 = __fmaf_rn(__fmul_rn(s.oneMinusBeta2, g), g, __fmul_rn(v, s.beta2));
    float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(v1), s.bias2Sqrt), s.eps);
    param[i] = __fadd_rn(p1, __fdiv_rn(__fmul_rn(s.negStepSize, m1), den));
    expAvg[i] = m1;
    expAvgSq[i] = v1;
  }
}

} // namespace

void launchAdamW(float *param, float *expAvg, float *expAvgSq, const float *grad,
                 const float *norm, const AdamWScalars &s, int64_t n, cudaStream_t stream) {
  if (n == 0)
    return;
  adamwKernel<<<detail::blocksFor(n), detail::kThreads, 0, stream>>>(param, expAvg, expAvgSq,
                                                                    grad, norm, s, n);
  detail::checkLaunch("adam_step");
}

} // namespace off::cuda
