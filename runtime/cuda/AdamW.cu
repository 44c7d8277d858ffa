// AdamW on the GPU, for optimizer states the plan keeps on the device: the
// element-wise arithmetic of runtime/optim/AdamWKernels.h, operation for
// operation with IEEE roundings (__fmaf_rn, __fdiv_rn, __fsqrt_rn), so the
// bits match the CPU's host optimizer. The clip coefficient is computed on
// the device from the norm operand, as runtime/optim's clipCoefficient.
// bf16 gradients are read as their f32 cast; the compute copy (bf16 or f32)
// is the updated master, rounded to nearest even for bf16 (AdamWKernels.h).
#include "runtime/cuda/KernelsCommon.cuh"

namespace off::cuda {
namespace {

template <typename Grad, typename Copy>
__global__ void adamwKernel(float *param, float *expAvg, float *expAvgSq, const Grad *grad,
                            const float *norm, Copy *copy, AdamWScalars s, int64_t n) {
  float scale = 1.0f;
  if (norm) {
    float denominator = __fadd_rn(*norm, 1e-6f);
    float coefficient = __fmul_rn(__fdiv_rn(1.0f, denominator), s.maxNorm);
    scale = coefficient > 1.0f ? 1.0f : coefficient;
  }
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float g = __fmul_rn(detail::loadF(grad, i), scale);
    float p = param[i], m = expAvg[i], v = expAvgSq[i];
    float p1 = __fmul_rn(p, s.decay);
    float d = __fsub_rn(g, m);
    float m1 = s.lerpWeightSmall ? __fmaf_rn(s.lerpWeight, d, m) : __fmaf_rn(s.lerpWeightM1, d, g);
    float v1 = __fmaf_rn(__fmul_rn(s.oneMinusBeta2, g), g, __fmul_rn(v, s.beta2));
    float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(v1), s.bias2Sqrt), s.eps);
    float p2 = __fadd_rn(p1, __fdiv_rn(__fmul_rn(s.negStepSize, m1), den));
    param[i] = p2;
    expAvg[i] = m1;
    expAvgSq[i] = v1;
    if (copy)
      detail::storeF(copy, i, p2);
  }
}

template <typename Grad>
void launchTyped(float *param, float *expAvg, float *expAvgSq, const Grad *grad,
                 const float *norm, void *copy, bool copyBf16, const AdamWScalars &s, int64_t n,
                 cudaStream_t stream) {
  unsigned grid = detail::blocksFor(n);
  if (copyBf16)
    adamwKernel<<<grid, detail::kThreads, 0, stream>>>(param, expAvg, expAvgSq, grad, norm,
                                                       static_cast<uint16_t *>(copy), s, n);
  else
    adamwKernel<<<grid, detail::kThreads, 0, stream>>>(param, expAvg, expAvgSq, grad, norm,
                                                       static_cast<float *>(copy), s, n);
}

} // namespace

void launchAdamW(float *param, float *expAvg, float *expAvgSq, const void *grad, bool gradBf16,
                 const float *norm, void *copy, bool copyBf16, const AdamWScalars &s, int64_t n,
                 cudaStream_t stream) {
  if (n == 0)
    return;
  if (gradBf16)
    launchTyped(param, expAvg, expAvgSq, static_cast<const uint16_t *>(grad), norm, copy,
                copyBf16, s, n, stream);
  else
    launchTyped(param, expAvg, expAvgSq, static_cast<const float *>(grad), norm, copy, copyBf16,
                s, n, stream);
  detail::checkLaunch("adam_step");
}

} // namespace off::cuda
