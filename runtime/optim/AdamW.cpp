#include "runtime/optim/AdamW.h"
#include "runtime/optim/AdamWKernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace off::optim {

namespace {

std::string tensorLabel(const AdamWTensor &tensor) {
  if (tensor.name.empty())
    return "adamw";
  return "adamw: tensor '" + std::string(tensor.name) + "'";
}

void requireHyper(bool ok, const char *what, double value) {
  if (!ok)
    throw std::invalid_argument("adamw: invalid " + std::string(what) + ": " +
                                std::to_string(value));
}

size_t gradBytes(GradDtype dtype) { return dtype == GradDtype::F32 ? 4 : 2; }
size_t outBytes(OutDtype dtype) {
  return dtype == OutDtype::None ? 0 : dtype == OutDtype::F32 ? 4 : 2;
}

/// Checks pointers, dtypes, the range and that no two arrays overlap.
void validate(const AdamWTensor &t, size_t begin, size_t end) {
  if (begin > end || end > t.count)
    throw std::invalid_argument(tensorLabel(t) + ": range [" + std::to_string(begin) + ", " +
                                std::to_string(end) + ") outside its " +
                                std::to_string(t.count) + " elements");
  if (t.count == 0)
    return;
  if (!t.param || !t.expAvg || !t.expAvgSq || !t.grad)
    throw std::invalid_argument(tensorLabel(t) +
                                ": param, exp_avg, exp_avg_sq and grad must all be given");
  if ((t.outDtype == OutDtype::None) != (t.paramOut == nullptr))
    throw std::invalid_argument(tensorLabel(t) +
                                ": paramOut must be given exactly when outDtype is not None");
  struct Span {
    const char *name;
    const void *data;
    size_t bytes;
  } spans[] = {{"param", t.param, t.count * 4},
               {"exp_avg", t.expAvg, t.count * 4},
               {"exp_avg_sq", t.expAvgSq, t.count * 4},
               {"grad", t.grad, t.count * gradBytes(t.gradDtype)},
               {"param_out", t.paramOut, t.count * outBytes(t.outDtype)}};
  for (size_t a = 0; a < 5; ++a)
    for (size_t b = a + 1; b < 5; ++b) {
      auto lo = [](const Span &s) { return reinterpret_cast<uintptr_t>(s.data); };
      if (!spans[a].data || !spans[b].data)
        continue;
      if (lo(spans[a]) < lo(spans[b]) + spans[b].bytes &&
          lo(spans[b]) < lo(spans[a]) + spans[a].bytes)
        throw std::invalid_argument(tensorLabel(t) + ": " + spans[a].name + " and " +
                                    spans[b].name + " overlap");
    }
}

detail::AdamWKernel kernelFor(AdamIsa isa) {
  if (!adamIsaSupported(isa))
    throw std::runtime_error(std::string("adamw: this CPU does not support the ") +
                             adamIsaName(isa) + " kernel");
  switch (isa) {
  case AdamIsa::Scalar: return detail::adamwKernelScalar;
  case AdamIsa::Avx2: return detail::adamwKernelAvx2;
  case AdamIsa::Avx512: return detail::adamwKernelAvx512;
  }
  return detail::adamwKernelScalar;
}

// Chunk boundaries fall on multiples of this many elements (from the tile
// start): whole cache lines per thread, and small tensors stay on one thread
// where waking the pool would cost more than the update.
constexpr size_t kThreadGrain = 4096;

} // namespace

float clipCoefficient(float totalNorm, double maxNorm) {
  float denominator = totalNorm + float(1e-6);
  float coefficient = (1.0f / denominator) * float(maxNorm);
  return coefficient > 1.0f ? 1.0f : coefficient;
}

AdamWStepScalars adamwStepScalars(const AdamWHyper &h, int64_t step) {
  // The same checks as torch.optim.AdamW's constructor.
  requireHyper(h.lr >= 0.0, "learning rate", h.lr);
  requireHyper(h.eps >= 0.0, "epsilon value", h.eps);
  requireHyper(h.beta1 >= 0.0 && h.beta1 < 1.0, "beta parameter at index 0", h.beta1);
  requireHyper(h.beta2 >= 0.0 && h.beta2 < 1.0, "beta parameter at index 1", h.beta2);
  requireHyper(h.weightDecay >= 0.0, "weight_decay value", h.weightDecay);
  if (step < 1)
    throw std::invalid_argument("adamw: step must be >= 1 (got " + std::to_string(step) + ")");

  // As torch's Python computes them: doubles, then rounded to fp32 when the
  // scalar meets an fp32 tensor. step is a Python float there (step_t.item()).
  const double stepValue = double(step);
  const double biasCorrection1 = 1.0 - std::pow(h.beta1, stepValue);
  const double biasCorrection2 = 1.0 - std::pow(h.beta2, stepValue);
  const double stepSize = h.lr / biasCorrection1;

  AdamWStepScalars s;
  s.decay = float(1.0 - h.lr * h.weightDecay);
  s.lerpWeight = float(1.0 - h.beta1);
  s.lerpWeightM1 = s.lerpWeight - 1.0f;
  s.lerpWeightSmall = std::fabs(s.lerpWeight) < 0.5f;
  s.beta2 = float(h.beta2);
  s.oneMinusBeta2 = float(1.0 - h.beta2);
  s.bias2Sqrt = float(std::pow(biasCorrection2, 0.5));
  s.eps = float(h.eps);
  s.negStepSize = float(-stepSize);
  return s;
}

const char *adamIsaName(AdamIsa isa) {
  switch (isa) {
  case AdamIsa::Scalar: return "scalar";
  case AdamIsa::Avx2: return "avx2";
  case AdamIsa::Avx512: return "avx512";
  }
  return "?";
}

std::optional<AdamIsa> parseAdamIsa(std::string_view text) {
  for (AdamIsa isa : {AdamIsa::Scalar, AdamIsa::Avx2, AdamIsa::Avx512})
    if (text == adamIsaName(isa))
      return isa;
  return std::nullopt;
}

bool adamIsaSupported(AdamIsa isa) {
  // libgcc's CPUID probe also checks that the OS saves the YMM/ZMM state.
  __builtin_cpu_init();
  switch (isa) {
  case AdamIsa::Scalar: return true;
  case AdamIsa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case AdamIsa::Avx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
}

AdamIsa defaultAdamIsa() {
  AdamIsa best = adamIsaSupported(AdamIsa::Avx512) ? AdamIsa::Avx512
                 : adamIsaSupported(AdamIsa::Avx2) ? AdamIsa::Avx2
                                                   : AdamIsa::Scalar;
  if (const char *env = std::getenv("OFF_ADAM_ISA"); env && *env) {
    std::optional<AdamIsa> wanted = parseAdamIsa(env);
    if (!wanted)
      throw std::invalid_argument(std::string("OFF_ADAM_ISA='") + env +
                                  "' is not one of scalar, avx2, avx512");
    if (uint8_t(*wanted) < uint8_t(best))
      best = *wanted;
  }
  return best;
}

void adamwStepRange(const AdamWTensor &tensor, const AdamWStepScalars &scalars, size_t begin,
                    size_t end, AdamIsa isa) {
  validate(tensor, begin, end);
  if (begin < end)
    kernelFor(isa)(tensor, scalars, begin, end);
}

void adamwStepTile(const AdamWTensor &tensor, const AdamWStepScalars &scalars, size_t begin,
                   size_t end, const AdamWRun &run) {
  validate(tensor, begin, end);
  if (begin == end)
    return;
  detail::AdamWKernel kernel = kernelFor(run.isa.value_or(defaultAdamIsa()));
  ThreadPool &pool = run.pool ? *run.pool : defaultThreadPool();
  pool.parallelFor(
      begin, end,
      [&](size_t chunkBegin, size_t chunkEnd) { kernel(tensor, scalars, chunkBegin, chunkEnd); },
      kThreadGrain);
}

void adamwStep(const AdamWTensor &tensor, const AdamWHyper &hyper, int64_t step,
               const AdamWRun &run) {
  adamwStepTile(tensor, adamwStepScalars(hyper, step), 0, tensor.count, run);
}

void adamwStepTiled(const AdamWTensor &tensor, const AdamWHyper &hyper, int64_t step,
                    size_t tileElements,
                    const std::function<void(size_t begin, size_t end)> &onTileDone,
                    const AdamWRun &run) {
  if (tileElements == 0)
    throw std::invalid_argument(tensorLabel(tensor) + ": tile size must be > 0");
  const AdamWStepScalars scalars = adamwStepScalars(hyper, step);
  validate(tensor, 0, tensor.count);
  for (size_t begin = 0; begin < tensor.count; begin += tileElements) {
    size_t end = begin + std::min(tileElements, tensor.count - begin);
    adamwStepTile(tensor, scalars, begin, end, run);
    if (onTileDone)
      onTileDone(begin, end);
  }
}

size_t adamwBytesPerElement(GradDtype grad, OutDtype out) {
  return 3 * 4 /* read p, m, v */ + gradBytes(grad) + 3 * 4 /* write p, m, v */ + outBytes(out);
}

} // namespace off::optim
