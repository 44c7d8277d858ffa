// See LowerBound.h.

#include "compiler/Simulate/LowerBound.h"

#include "compiler/Simulate/Explain.h"
#include "compiler/Simulate/KernelCost.h"

#include <algorithm>
#include <vector>

namespace off::sim {
namespace {

struct Term {
  const char *name;
  double at0, slope; // value at f = 0, change per unit of f
};

} // namespace

Bound lowerBound(const BoundInputs &in) {
  std::vector<Term> terms = {
      {"device compute", in.deviceCompute, in.adamDevice},
      {"host AdamW", in.adamHost, -in.adamHost},
      {"d2h (gradients to the host)", in.d2h > 0 ? in.gradBytes / in.d2h : 0,
       in.d2h > 0 ? -in.gradBytes / in.d2h : 0},
      {"h2d (updated weights back)", in.h2d > 0 ? in.paramBytes / in.h2d : 0,
       in.h2d > 0 ? -in.paramBytes / in.h2d : 0},
  };
  if (in.oneResource) {
    Term all{"host cores (compute, AdamW and copies share them)", 0, 0};
    for (const Term &t : terms)
      all.at0 += t.at0, all.slope += t.slope;
    terms = {all};
  }
  double fMax = in.stateBytes > 0 ? std::min(1.0, in.deviceBytes / in.stateBytes) : 1.0;
  // The largest of lines is convex in f: its minimum over [0, fMax] is at an
  // end or where two lines cross.
  std::vector<double> candidates = {0, fMax};
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t j = i + 1; j < terms.size(); ++j)
      if (terms[i].slope != terms[j].slope) {
        double f = (terms[j].at0 - terms[i].at0) / (terms[i].slope - terms[j].slope);
        if (f > 0 && f < fMax)
          candidates.push_back(f);
      }
  Bound best;
  best.seconds = -1;
  for (double f : candidates) {
    const Term *top = &terms[0];
    double value = -1;
    for (const Term &t : terms)
      if (t.at0 + t.slope * f > value)
        value = t.at0 + t.slope * f, top = &t;
    if (best.seconds < 0 || value < best.seconds)
      best = Bound{value, f, top->name};
  }
  return best;
}

std::optional<BoundInputs> boundInputs(const plan::Plan &plan, const Simulation &simulation,
                                       const DeviceProfile &profile, std::string &error) {
  BoundInputs in;
  for (const LayerRow &row : explainLayers(plan, simulation))
    in.deviceCompute += row.forwardWork + row.backwardWork;
  for (const plan::Stream &stream : plan.streams())
    for (const plan::Instruction &inst : stream.instructions()) {
      if (!inst.has_kernel() || inst.kernel().op() != "adam_step")
        continue;
      std::optional<Cost> device = instructionCost(plan, plan::COMPUTE, inst, profile, error);
      std::optional<Cost> host =
          instructionCost(plan, plan::HOST_OPTIMIZER, inst, profile, error);
      if (!device || !host)
        return std::nullopt;
      in.adamDevice += device->seconds;
      in.adamHost += host->seconds;
      const plan::Kernel &k = inst.kernel();
      if (k.inputs_size() < 4)
        continue;
      in.gradBytes += double(plan.tensors(int(k.inputs(1))).size_bytes());
      // The weights the device computes with: the compute copy (4th output
      // of a bf16-mixed update), else the param itself.
      uint32_t weights = k.outputs_size() >= 4 ? k.outputs(3) : k.inputs(0);
      in.paramBytes += double(plan.tensors(int(weights)).size_bytes());
      for (uint32_t id : k.inputs())
        in.stateBytes += double(plan.tensors(int(id)).size_bytes());
      if (k.outputs_size() >= 4)
        in.stateBytes += double(plan.tensors(int(k.outputs(3))).size_bytes());
    }
  for (const plan::Tier &tier : plan.tiers())
    if (tier.kind() == plan::TIER_DEVICE)
      in.deviceBytes = double(tier.budget_bytes());
  if (in.deviceBytes == 0)
    in.deviceBytes = profile.memoryBytes;
  in.h2d = profile.h2d;
  in.d2h = profile.d2h;
  in.oneResource = resourceOf(plan::COMPUTE, profile) == resourceOf(plan::HOST_OPTIMIZER, profile);
  return in;
}

} // namespace off::sim
