// A lower bound on the step time of any plan of the same training step on
// a profile, in the simulator's cost model: the least the busiest resource
// must do, whatever is offloaded. docs/planner.md ("The lower bound") has the
// derivation; issue 13's planner is to tighten it (activations, recompute,
// NVMe) into its LP.
#pragma once

#include "compiler/Simulate/Simulator.h"

#include <optional>
#include <string>

namespace off::sim {

/// The quantities the bound is made of, in seconds and bytes.
struct BoundInputs {
  double deviceCompute = 0; // forward + backward kernels, no recompute, no AdamW
  double adamDevice = 0;    // every AdamW update on the device
  double adamHost = 0;      // every AdamW update on the host
  double gradBytes = 0;     // gradients AdamW reads (must go d2h for a host update)
  double paramBytes = 0;    // weights the device computes with (h2d after a host update)
  double stateBytes = 0;    // what a device update needs on the device: AdamW's operands
  double deviceBytes = 0;   // the device's memory (budget, else the profile's)
  double h2d = 0, d2h = 0;  // bytes/s
  /// The CPU backend: compute, AdamW and the copies all run on the host's
  /// cores (Simulator.h, resourceOf), so their costs add up.
  bool oneResource = false;
};

struct Bound {
  double seconds = 0;
  double deviceFraction = 0; // of the AdamW work on the device at the optimum
  std::string limit;         // what binds: "device compute", "host AdamW", ...
};

/// min over f in [0, min(1, deviceBytes / stateBytes)] of the largest of
/// deviceCompute + f * adamDevice, (1 - f) * adamHost, (1 - f) * gradBytes /
/// d2h and (1 - f) * paramBytes / h2d; with oneResource, of their sum
/// instead (one resource does all of it).
Bound lowerBound(const BoundInputs &in);

/// The inputs from a plan and its replay: compute kernels that are not
/// recomputations (offc explain's attribution), at their cost alone (not
/// as stretched by sharing a resource in the replay), each AdamW update costed on
/// both sides, the operands' bytes, the plan's device budget (0: the
/// profile's memory).
std::optional<BoundInputs> boundInputs(const plan::Plan &plan, const Simulation &simulation,
                                       const DeviceProfile &profile, std::string &error);

} // namespace off::sim
