// The cost of one plan instruction on a device profile: a roofline per
// kernel (the larger of its FLOPs over the rate and its bytes over the
// memory bandwidth of where it runs), bytes over the link's rate per copy.
// docs/planner.md ("The cost model") says what each rule counts and why.
#pragma once

#include "compiler/Simulate/DeviceProfile.h"
#include "runtime/plan/Plan.h"

#include <cstdint>
#include <optional>
#include <string>

namespace off::sim {

struct Cost {
  double seconds = 0;
  uint64_t flops = 0; // arithmetic of a kernel; 0 for a copy
  uint64_t bytes = 0; // read + written by a kernel; moved by a copy
};

/// FLOPs of a kernel from its op, operand shapes and attributes; nullopt
/// for an op without a rule.
std::optional<uint64_t> kernelFlops(const plan::Plan &plan, const plan::Kernel &kernel);

/// Bytes a kernel reads (its inputs) and writes (its outputs); a reshape
/// is a view and moves none.
uint64_t kernelBytes(const plan::Plan &plan, const plan::Kernel &kernel);

/// The cost of instruction `inst` of a stream of kind `stream`, or nullopt
/// with `error` saying why it cannot be costed on `profile` (no FLOP rule,
/// no rate for the dtype, a collective).
std::optional<Cost> instructionCost(const plan::Plan &plan, plan::StreamKind stream,
                                    const plan::Instruction &inst, const DeviceProfile &profile,
                                    std::string &error);

} // namespace off::sim
