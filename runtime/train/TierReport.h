// offrt train --report: what each memory tier held at most while the plan
// ran, measured, in the shape of offc compile --report's "tiers" object, so
// that a test can hold the two equal (DESIGN.md invariant 2):
//   {"tiers": {"device": {"budget_bytes": N, "peak_bytes": N}, "host": ..., "nvme": ...}}
#pragma once

#include "runtime/backend/Backend.h"
#include "runtime/train/PlanProgram.h"

#include <array>
#include <cstdint>
#include <string>

namespace off::train {

/// By Tier (device, host, nvme).
struct TierReport {
  std::array<uint64_t, 3> budgetBytes{}; // the plan's budgets; 0: none
  std::array<uint64_t, 3> peakBytes{};   // measured
};

/// Device and host: the backend's arena peak (TierUsage::peak, what its
/// allocations held at most at once). NVMe: the bytes of the NVMe arenas'
/// stripe files on disk now (they are preallocated at start and never
/// grow), 0 without NVMe arenas.
TierReport measureTiers(const PlanProgram &program, const backend::Backend &backend);

/// Writes the JSON above to `path`; throws TrainError naming it.
void writeTierReport(const std::string &path, const TierReport &report);

} // namespace off::train
