// offc compile's memory decisions: the forcing options (--place, --remat)
// or, with budgets and no forcing option, the greedy ladder of decision
// sets tried in order until one fits; the budget check and its message; the
// --report JSON. The passes that carry the decisions out are off-place,
// off-remat and off-insert-transfers (dialects/off/Transforms).
#pragma once

#include "runtime/plan/Plan.h"

#include "llvm/Support/JSON.h"

#include <cstdint>
#include <string>
#include <vector>

namespace off::offc {

struct MemoryOptions {
  uint64_t vram = 0, hostRam = 0, nvmeSize = 0; // bytes; 0: no budget
  std::string vramText, hostRamText, nvmeSizeText; // as written
  std::string nvmeDir;
  std::vector<std::string> place; // CLASS_OR_PATTERN=TIER, in order
  std::string remat;              // "" when not given
  bool forced() const { return !place.empty() || !remat.empty(); }
};

/// One set of decisions for off-place, off-remat and off-insert-transfers.
struct Decisions {
  std::string label; // what it does, for messages and the report
  std::vector<std::string> place;
  std::string remat = "none";
  int prefetch = 1; // layers ahead a copy to the device is issued (0: at its use)
  std::string strategy = "greedy"; // the --strategy it stands for
};

/// The fixed layouts people run today that `offc compile --strategy NAME`
/// emulates with the same decisions (docs/planner.md, "Emulated
/// strategies"), in the order auto tries them.
inline const char *const kEmulatedStrategies[] = {
    "none", "recompute-all", "zero-offload", "zero-infinity", "accelerate-offload"};

/// The decisions of emulated strategy `name` (one of kEmulatedStrategies);
/// zero-infinity puts params and optimizer states on NVMe when --nvme is
/// given, else on the host. `mixed` (bf16-mixed): zero-offload keeps only
/// the bf16 compute copies on the device, the fp32 masters on the host.
Decisions strategyDecisions(const std::string &name, const MemoryOptions &options,
                            bool mixed);

/// What to try, in order: the forcing options alone when any is given;
/// else, without a budget, everything on the device; else the greedy
/// ladder: optimizer states (and AdamW) to the host, then per-layer
/// recompute, then params and gradients streamed from the host one layer
/// ahead, then saved layer inputs to the host, then (with --nvme) optimizer
/// states and then params on NVMe.
std::vector<Decisions> decisionLadder(const MemoryOptions &options);

/// A floor of the device bytes `decisions` need, without compiling them:
/// `paramBytes` (every param's bytes) when no rule moves a param off the
/// device (the device then holds them all for the whole step), else 0.
/// offc skips a set whose floor is over --vram and compiles the skipped
/// ones after all only when no set fits (the error compares them all).
uint64_t deviceFloor(const Decisions &decisions, uint64_t paramBytes);

/// Bytes of each tier's arena in a plan.
struct TierBytes {
  uint64_t device = 0, host = 0, nvme = 0;
};
TierBytes tierBytes(const plan::Plan &plan);

/// "" when `used` fits every budget; else what is short: "--vram 2.0M is
/// too small: ... needs 2.9M (short by 0.9M) ...". `holds` says what the
/// device peak is made of; `even` words it as the best of several decision
/// sets. `onlyTier` (0 device, 1 host, 2 nvme) looks at that tier alone.
std::string budgetProblem(const MemoryOptions &options, const Decisions &decisions,
                          const TierBytes &used, const std::string &holds, bool even,
                          int onlyTier = -1);

/// Bytes moved per step by each kind of copy stream.
struct Traffic {
  uint64_t h2d = 0, d2h = 0, nvmeRead = 0, nvmeWrite = 0;
};
Traffic trafficOf(const plan::Plan &plan);

/// The --report JSON: tiers (budget and peak bytes), bytes per step per
/// link, recompute FLOPs and the decisions, per class and per layer.
llvm::json::Object memoryReport(const MemoryOptions &options, const Decisions &decisions,
                                const plan::Plan &plan, uint64_t recomputeFlops);

/// The summary line's part: "device 1.9M of 2.0M (HOLDS), host 1.0M; per
/// step h2d 0.5M, d2h 0.4M".
std::string memorySummary(const MemoryOptions &options, const plan::Plan &plan,
                          const std::string &deviceHolds);

} // namespace off::offc
