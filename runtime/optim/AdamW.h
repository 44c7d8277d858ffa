// The CPU AdamW step: torch.optim.AdamW's arithmetic on fp32 master weights
// and moments, gradients in fp32 or bf16, and (in the same pass) an fp32 or
// bf16 copy of the updated weights for the compute device.
//
// Numerics: the per-element operations and their order are those of
// torch.optim.AdamW's default CPU path (single-tensor, foreach=False) as
// measured on torch 2.15 (see README.md); all vector paths equal the scalar
// reference bit for bit (explicit fma, no contraction, -ffp-contract=off).
#pragma once

#include "runtime/common/Parallel.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace off::optim {

enum class GradDtype : uint8_t { F32, BF16 };
enum class OutDtype : uint8_t { None, F32, BF16 };

/// Instruction sets with a kernel; chosen at run time (CPUID).
enum class AdamIsa : uint8_t { Scalar, Avx2, Avx512 };

/// torch.optim.AdamW's hyper-parameters (same defaults), in double as Python
/// holds them: the per-step scalars are derived in double and rounded once.
struct AdamWHyper {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 1e-2;
};

/// The fp32 scalars one step uses, derived from AdamWHyper and the 1-based
/// step number exactly as torch derives them (double, then one rounding).
struct AdamWStepScalars {
  float decay;           // 1 - lr * weight_decay
  float lerpWeight;      // 1 - beta1 (exp_avg.lerp_(grad, 1 - beta1))
  float lerpWeightM1;    // lerpWeight - 1, in fp32 (torch's large-weight lerp form)
  bool lerpWeightSmall;  // |lerpWeight| < 0.5: which lerp form torch uses
  float beta2;           // exp_avg_sq.mul_(beta2)
  float oneMinusBeta2;   // .addcmul_(grad, grad, value=1 - beta2)
  float bias2Sqrt;       // sqrt(1 - beta2^step)
  float eps;             // added after sqrt(v) / bias2Sqrt
  float negStepSize;     // -lr / (1 - beta1^step)
};

/// Throws std::invalid_argument for hyper-parameters torch rejects or step < 1.
AdamWStepScalars adamwStepScalars(const AdamWHyper &hyper, int64_t step);

/// One parameter tensor and its optimizer state; all arrays have `count`
/// elements and must not overlap (paramOut may not alias param).
struct AdamWTensor {
  float *param = nullptr;       // [count] fp32 master weights, updated in place
  float *expAvg = nullptr;      // [count] first moment m, updated in place
  float *expAvgSq = nullptr;    // [count] second moment v, updated in place
  const void *grad = nullptr;   // [count] GradDtype
  GradDtype gradDtype = GradDtype::F32;
  void *paramOut = nullptr;     // [count] OutDtype copy of the updated param
  OutDtype outDtype = OutDtype::None;
  size_t count = 0;
  std::string_view name = "";   // for error messages
  /// The update uses g = grad * gradScale (one fp32 multiply, first): the
  /// clip coefficient, applied as it is read, so the gradient itself is
  /// never written. 1 multiplies exactly (the same bits as no scaling).
  float gradScale = 1.0f;
};

/// The fp32 factor torch.nn.utils.clip_grad_norm_ multiplies every gradient
/// by: clamp(max_norm / (total_norm + 1e-6), max=1), evaluated as torch does
/// on fp32 tensors (the Python float added and divided in fp32; the division
/// of a number by a tensor is reciprocal() * number).
float clipCoefficient(float totalNorm, double maxNorm);

const char *adamIsaName(AdamIsa isa);
std::optional<AdamIsa> parseAdamIsa(std::string_view text); // scalar|avx2|avx512
/// Whether this CPU (and OS) runs `isa`.
bool adamIsaSupported(AdamIsa isa);
/// The widest supported ISA, lowered by the environment variable
/// OFF_ADAM_ISA=scalar|avx2|avx512 when set (never raised past support).
AdamIsa defaultAdamIsa();

/// Where and how a step runs.
struct AdamWRun {
  std::optional<AdamIsa> isa;     // default: defaultAdamIsa()
  ThreadPool *pool = nullptr;     // default: defaultThreadPool()
};

/// Single-threaded kernel over elements [begin, end) of `tensor` with the
/// given ISA (throws if the CPU lacks it). Plain and reentrant: any thread
/// may call it on disjoint ranges.
void adamwStepRange(const AdamWTensor &tensor, const AdamWStepScalars &scalars,
                    size_t begin, size_t end, AdamIsa isa);

/// One tile [begin, end) on all threads of the pool.
void adamwStepTile(const AdamWTensor &tensor, const AdamWStepScalars &scalars,
                   size_t begin, size_t end, const AdamWRun &run = {});

/// The whole tensor, step `step` (1-based, as torch's state['step'] after
/// its increment).
void adamwStep(const AdamWTensor &tensor, const AdamWHyper &hyper, int64_t step,
               const AdamWRun &run = {});

/// The whole tensor in tiles of `tileElements`, in order; after each tile,
/// onTileDone(begin, end) is called on the calling thread so the caller can
/// start streaming that tile's paramOut while the next tile is updated.
void adamwStepTiled(const AdamWTensor &tensor, const AdamWHyper &hyper, int64_t step,
                    size_t tileElements,
                    const std::function<void(size_t begin, size_t end)> &onTileDone,
                    const AdamWRun &run = {});

/// Bytes one element moves through memory: reads param, m, v, grad; writes
/// param, m, v and the optional output copy.
size_t adamwBytesPerElement(GradDtype grad, OutDtype out);

} // namespace off::optim
