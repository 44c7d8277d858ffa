// offc simulate: replays a plan's streams on a device profile. Each stream
// runs its instructions in order, one at a time, each needing its cost
// (KernelCost.h) in seconds of its resource; a wait holds its stream until
// the event's record has been reached. Streams on different resources run
// side by side; streams on one resource share it equally while both are
// busy (resourceOf). From the timeline come the step time, each stream's
// busy time, the bytes per link and, per tier, the bytes alive over time.
#pragma once

#include "compiler/Simulate/DeviceProfile.h"
#include "runtime/plan/Plan.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace off::sim {

/// One instruction that takes time, as it ran.
struct Slice {
  int stream = 0;
  int instruction = 0;
  double start = 0, seconds = 0; // when it ran, for how long (shared or not)
  uint64_t flops = 0, bytes = 0;
  double work = 0;               // its cost: the seconds it takes with its resource alone
};

struct StreamUse {
  std::string name; // "compute", "h2d", ...; "h2d.1" for a second stream of a kind
  double busy = 0;  // seconds spent in kernels and copies
  double work = 0;  // the same at a full share of its resource (<= busy)
  double end = 0;   // when its last instruction finished
  int kernels = 0, copies = 0;
};

/// What one tier holds over the step.
struct TierUse {
  std::string name;           // "device", "host", "nvme"
  uint64_t peakBytes = 0;     // the arenas' extent: the highest byte any tensor uses
  uint64_t peakLiveBytes = 0; // the most bytes of tensors alive at one time
  double peakLiveAt = 0;
  /// (time, bytes alive from then on), one sample per change.
  std::vector<std::pair<double, uint64_t>> live;
};

struct Simulation {
  std::string profile;
  double stepSeconds = 0;
  std::vector<StreamUse> streams; // in the plan's order
  std::vector<TierUse> tiers;     // device, host, nvme (each, even when empty)
  uint64_t h2d = 0, d2h = 0, nvmeRead = 0, nvmeWrite = 0; // bytes per step per link
  uint64_t flops = 0;             // all kernels' FLOPs
  std::vector<Slice> slices;      // by stream, in order
};

/// The resource a stream of `kind` runs on. GPU profiles: the GPU, each
/// PCIe direction and the host cores are separate; on a CPU profile
/// (the CPU backend) compute, the optimizer and the copies between tiers all
/// run on the host's cores and memory. NVMe reads and writes share the
/// drive.
int resourceOf(plan::StreamKind kind, const DeviceProfile &profile);

/// Replays `plan` (valid: readPlanFile checked it) on `profile`; nullopt
/// with `error` when an instruction cannot be costed or the waits cannot
/// all be met.
std::optional<Simulation> simulate(const plan::Plan &plan, const DeviceProfile &profile,
                                   std::string &error);

/// A plan file replayed on a named or given profile (what offc simulate and
/// offc explain start from).
struct SimulatedPlan {
  plan::Plan plan;
  DeviceProfile profile;
  Simulation simulation;
};

/// Loads profile `profileName` (loadDeviceProfile), reads `planPath` and
/// simulates it; nullopt with `error` set ("--profile: ...", the plan
/// file's own error, or "PLAN: ..." for what the replay refuses).
std::optional<SimulatedPlan> simulatePlanFile(const std::string &planPath,
                                              const std::string &profileName,
                                              std::string &error);

/// Chrome trace-event JSON (Perfetto and chrome://tracing open it): one
/// thread per stream named after it, an "X" event per kernel or copy
/// (microseconds), and a counter track per tier of the bytes alive.
std::string chromeTrace(const plan::Plan &plan, const Simulation &simulation);

/// An SVG image of the bytes alive per tier over the step (--memory-plot):
/// one panel per tier the plan uses, a step line of the bytes alive, the
/// arena (peak) and, when the plan has one, the tier's budget as dashed
/// lines. Each panel is a <g class="tier" data-tier=NAME data-axis-bytes=B
/// data-axis-seconds=S> whose polyline maps bytes and time linearly onto
/// the plot area given by data-x0/x1/y0/y1, so a test can read it back.
std::string memoryPlot(const plan::Plan &plan, const Simulation &simulation);

struct Bound;

/// The --report JSON of offc simulate (docs/cli.md); with `bound`, also
/// lower_bound_s and what limits it (LowerBound.h).
std::string simulationReport(const Simulation &simulation, const Bound *bound = nullptr);

} // namespace off::sim
