// offc explain: a plan's step per layer, read from plan.bin and its replay
// on a profile (Simulator.h): where each layer's params, gradients and
// optimizer states live, whether its forward is recomputed, the compute
// time of its forward, recompute and backward, its optimizer update, and the
// bytes its tensors move over each link.
#pragma once

#include "compiler/Simulate/Simulator.h"

#include <map>
#include <string>
#include <vector>

namespace off::sim {

struct LayerRow {
  std::string name;   // "model.layers.3"; a top-level module ("lm_head"); "(other)"
  std::string params, grads, optimizer; // tiers ("device", "host", "nvme", "-": none)
  bool recomputed = false;
  double forward = 0, recompute = 0, backward = 0; // compute-stream seconds
  double forwardWork = 0, backwardWork = 0; // the same at a full share of the device
  double optimizer_s = 0;       // adam_step seconds, on whichever stream runs it
  std::string optimizerStream;  // where it runs ("compute", "host-optimizer", "-")
  std::map<std::string, uint64_t> bytes; // per link stream ("h2d", ...): bytes of its tensors
};

/// One row per layer in the order they first compute (then the other rows).
/// A kernel belongs to the row of a parameter it reads or writes (through
/// any copy, gradient or state of it), else to the row of the kernel before
/// it on its stream. Forward: compute kernels before the first gradient
/// kernel (`*_grad`); a layer is recomputed when a forward kernel of it (the
/// same op and attributes on the same parameters) runs again after that.
std::vector<LayerRow> explainLayers(const plan::Plan &plan, const Simulation &simulation);

/// The rows as JSON (offc explain --report): per row its name, tiers,
/// recomputed, forward_s, recompute_s, backward_s, adam_s, adam_stream and
/// bytes per link.
std::string explainReport(const Simulation &simulation, const std::vector<LayerRow> &rows);

/// The table offc explain prints.
std::string explainTable(const Simulation &simulation,
                         const std::vector<LayerRow> &rows);

} // namespace off::sim
