// See MemoryPolicy.h.

#include "tools/offc/MemoryPolicy.h"

#include "runtime/common/HumanSize.h"
#include "runtime/common/LayerName.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"

#include <map>

namespace off::offc {
namespace {

std::string human(uint64_t bytes) { return formatHumanSize(bytes); }

/// "model.layers.3" for a name inside layer 3, else "".
std::string layerOf(llvm::StringRef name) {
  return std::string(layerOfName(std::string_view(name.data(), name.size())));
}

const char *tierName(const plan::Plan &plan, uint32_t arena) {
  switch (plan.tiers(int(plan.arenas(int(arena)).tier())).kind()) {
  case plan::TIER_DEVICE: return "device";
  case plan::TIER_HOST: return "host";
  case plan::TIER_NVME: return "nvme";
  default: return "?";
  }
}

} // namespace

std::vector<Decisions> decisionLadder(const MemoryOptions &options) {
  if (options.forced()) {
    Decisions forced{"the --place / --remat decisions", options.place,
                     options.remat.empty() ? "none" : options.remat, 1, "forced"};
    return {forced};
  }
  std::vector<Decisions> ladder = {{"everything on the device", {}, "none"}};
  if (!options.vram && !options.hostRam)
    return ladder;
  ladder.push_back({"optimizer states and AdamW on the host", {"optimizer=host"}, "none"});
  ladder.push_back({"optimizer states and AdamW on the host, per-layer recompute",
                    {"optimizer=host"}, "all"});
  ladder.push_back({"optimizer states and AdamW on the host, per-layer recompute, params "
                    "and gradients streamed from the host one layer ahead",
                    {"optimizer=host", "params=host", "grads=host"}, "all"});
  ladder.push_back({"optimizer states and AdamW on the host, per-layer recompute, params "
                    "and gradients streamed from the host, saved layer inputs on the host",
                    {"optimizer=host", "params=host", "grads=host", "activations=host"},
                    "all"});
  if (!options.nvmeDir.empty()) {
    ladder.push_back({"optimizer states on NVMe (AdamW on the host), per-layer recompute, "
                      "params, gradients and layer inputs on the host",
                      {"optimizer=nvme", "params=host", "grads=host", "activations=host"},
                      "all"});
    ladder.push_back({"optimizer states and params on NVMe (AdamW on the host), "
                      "per-layer recompute, gradients and layer inputs on the host",
                      {"optimizer=nvme", "params=nvme", "grads=host", "activations=host"},
                      "all"});
  }
  return ladder;
}

Decisions strategyDecisions(const std::string &name, const MemoryOptions &options,
                            bool mixed) {
  Decisions d;
  d.strategy = name;
  if (name == "none") {
    d.label = "none: everything on the device, nothing recomputed";
  } else if (name == "recompute-all") {
    d.label = "recompute-all: everything on the device, every layer recomputed";
    d.remat = "all";
  } else if (name == "zero-offload") {
    // ZeRO-2 + offload_optimizer: fp32 states and the update on the CPU,
    // gradients sent there as they are reduced, params stay on the GPU,
    // with the per-layer activation checkpointing it is run with. In fp32
    // the device param is the master (AdamW reads it over d2h); in
    // bf16-mixed the fp32 masters live on the host, the bf16 copies
    // (off-mix-precision's "<name>.bf16" params) on the device.
    d.label = mixed ? "zero-offload: fp32 masters, optimizer states and AdamW on the host, "
                      "gradients streamed to the host, bf16 params on the device, "
                      "per-layer recompute"
                    : "zero-offload: optimizer states and AdamW on the host, gradients "
                      "streamed to the host, params on the device, per-layer recompute";
    d.place = {"optimizer=host", "grads=host"};
    if (mixed)
      d.place = {"optimizer=host", "grads=host", "params=host", "*.bf16=device"};
    d.remat = "all";
  } else if (name == "zero-infinity") {
    // ZeRO-3 + offload_param/offload_optimizer (device nvme with --nvme):
    // params gathered one layer ahead of use (its prefetch), gradients
    // partitioned off the GPU, full checkpointing.
    bool nvme = !options.nvmeDir.empty();
    d.label = nvme ? "zero-infinity: params and optimizer states on NVMe (AdamW on the "
                     "host), gradients on the host, fetched one layer ahead, per-layer "
                     "recompute"
                   : "zero-infinity: params, gradients and optimizer states on the host "
                     "(AdamW there), fetched one layer ahead, per-layer recompute";
    d.place = {nvme ? "optimizer=nvme" : "optimizer=host", nvme ? "params=nvme" : "params=host",
               "grads=host"};
    d.remat = "all";
  } else if (name == "accelerate-offload") {
    // accelerate's cpu_offload: each module's weights copied to the GPU by
    // a hook when it runs (no prefetch, the forward waits for the copy);
    // the optimizer over CPU params; no checkpointing unless asked for.
    d.label = "accelerate-offload: params on the host, copied to the device when each "
              "layer runs (no prefetch), gradients, optimizer states and AdamW on the host";
    d.place = {"optimizer=host", "params=host", "grads=host"};
    d.prefetch = 0;
  }
  return d;
}

uint64_t deviceFloor(const Decisions &decisions, uint64_t paramBytes) {
  // Class rules only: a glob could match some params; then no floor.
  for (const std::string &rule : decisions.place) {
    llvm::StringRef what = llvm::StringRef(rule).split('=').first.trim();
    if (what != "optimizer" && what != "grads" && what != "activations")
      return 0;
  }
  return paramBytes;
}

TierBytes tierBytes(const plan::Plan &plan) {
  TierBytes bytes;
  for (const plan::Arena &arena : plan.arenas())
    switch (plan.tiers(int(arena.tier())).kind()) {
    case plan::TIER_DEVICE: bytes.device += arena.size_bytes(); break;
    case plan::TIER_HOST: bytes.host += arena.size_bytes(); break;
    case plan::TIER_NVME: bytes.nvme += arena.size_bytes(); break;
    default: break;
    }
  return bytes;
}

std::string budgetProblem(const MemoryOptions &options, const Decisions &decisions,
                          const TierBytes &used, const std::string &holds, bool even,
                          int onlyTier) {
  bool last = even;
  auto looks = [&](int tier) { return onlyTier < 0 || onlyTier == tier; };
  auto problem = [&](const char *option, const std::string &text, uint64_t budget,
                     uint64_t need, const char *tier, const std::string &hint) {
    std::string message = llvm::formatv(
        "{0} {1} is too small: {2} the {3} needs {4} (short by {5})", option, text,
        last ? "even with " + decisions.label + "," : "with " + decisions.label + ",",
        tier, human(need), human(need - budget)).str();
    if (!holds.empty() && llvm::StringRef(tier) == "device")
      message += "; at its peak it holds " + holds;
    return message + "; " + hint;
  };
  if (looks(0) && options.vram && used.device > options.vram)
    return problem("--vram", options.vramText, options.vram, used.device, "device",
                   "try --vram " + human(used.device) +
                       (options.forced() ? " or other --place / --remat" : "") +
                       (decisions.strategy != "greedy" && decisions.strategy != "forced"
                            ? " or another --strategy (auto: the fastest that fits)"
                            : "") +
                       " or a smaller --batch / --seq");
  if (looks(1) && options.hostRam && used.host > options.hostRam)
    return problem("--host-ram", options.hostRamText, options.hostRam, used.host, "host",
                   "try --host-ram " + human(used.host) +
                       (options.nvmeDir.empty() ? " or --nvme DIR" : ""));
  if (looks(2) && options.nvmeSize && used.nvme > options.nvmeSize)
    return problem("--nvme-size", options.nvmeSizeText, options.nvmeSize, used.nvme,
                   "NVMe tier", "free space under --nvme or use a larger --host-ram");
  return "";
}

Traffic trafficOf(const plan::Plan &plan) {
  Traffic traffic;
  for (const plan::Stream &stream : plan.streams())
    for (const plan::Instruction &instruction : stream.instructions()) {
      if (!instruction.has_copy())
        continue;
      uint64_t bytes = plan.tensors(int(instruction.copy().src())).size_bytes();
      switch (stream.kind()) {
      case plan::H2D: traffic.h2d += bytes; break;
      case plan::D2H: traffic.d2h += bytes; break;
      case plan::NVME_READ: traffic.nvmeRead += bytes; break;
      case plan::NVME_WRITE: traffic.nvmeWrite += bytes; break;
      default: break;
      }
    }
  return traffic;
}

llvm::json::Object memoryReport(const MemoryOptions &options, const Decisions &decisions,
                                const plan::Plan &plan, uint64_t recomputeFlops) {
  TierBytes used = tierBytes(plan);
  auto tier = [](uint64_t budget, uint64_t peak) {
    return llvm::json::Object{{"budget_bytes", int64_t(budget)}, {"peak_bytes", int64_t(peak)}};
  };
  Traffic traffic = trafficOf(plan);
  // Where each class lives, by tier, and per layer.
  std::map<std::string, std::map<std::string, int64_t>> classes;
  std::map<std::string, std::map<std::string, std::string>> layers;
  for (const plan::Tensor &tensor : plan.tensors()) {
    const char *cls = nullptr;
    switch (tensor.role()) {
    case plan::PARAM: cls = "params"; break;
    case plan::OPTIMIZER_STATE: cls = "optimizer"; break;
    case plan::GRAD: cls = "grads"; break;
    default: break;
    }
    if (!cls)
      continue;
    const char *where = tierName(plan, tensor.arena());
    classes[cls][where] += int64_t(tensor.size_bytes());
    std::string layer = layerOf(tensor.name());
    if (!layer.empty() && tensor.role() != plan::GRAD)
      layers[layer][cls] = where;
  }
  std::optional<llvm::GlobPattern> remat;
  if (decisions.remat != "none" && decisions.remat != "all")
    if (auto glob = llvm::GlobPattern::create(decisions.remat, /*MaxSubPatterns=*/1024))
      remat = std::move(*glob);
  llvm::json::Object perLayer;
  for (auto &[layer, entries] : layers) {
    llvm::json::Object entry;
    for (auto &[cls, where] : entries)
      entry[cls] = where;
    entry["recompute"] = decisions.remat == "all" || (remat && remat->match(layer));
    perLayer[layer] = std::move(entry);
  }
  llvm::json::Object perClass;
  for (auto &[cls, tiers] : classes) {
    llvm::json::Object bytes;
    for (auto &[where, n] : tiers)
      bytes[where] = n;
    perClass[cls] = std::move(bytes);
  }
  llvm::json::Array place;
  for (const std::string &rule : decisions.place)
    place.push_back(rule);
  return llvm::json::Object{
      {"tiers", llvm::json::Object{{"device", tier(options.vram, used.device)},
                                   {"host", tier(options.hostRam, used.host)},
                                   {"nvme", tier(options.nvmeSize, used.nvme)}}},
      {"bytes_per_step", llvm::json::Object{{"h2d", int64_t(traffic.h2d)},
                                            {"d2h", int64_t(traffic.d2h)},
                                            {"nvme_read", int64_t(traffic.nvmeRead)},
                                            {"nvme_write", int64_t(traffic.nvmeWrite)}}},
      {"recompute_flops", int64_t(recomputeFlops)},
      {"decisions", llvm::json::Object{{"summary", decisions.label},
                                       {"strategy", decisions.strategy},
                                       {"prefetch_layers", decisions.prefetch},
                                       {"place", std::move(place)},
                                       {"remat", decisions.remat},
                                       {"classes", std::move(perClass)},
                                       {"layers", std::move(perLayer)}}},
  };
}

std::string memorySummary(const MemoryOptions &options, const plan::Plan &plan,
                          const std::string &deviceHolds) {
  TierBytes used = tierBytes(plan);
  auto part = [](const char *name, uint64_t bytes, uint64_t budget) {
    return std::string(name) + " " + human(bytes) + (budget ? " of " + human(budget) : "");
  };
  std::string text = part("device", used.device, options.vram) + " (" + deviceHolds + ")";
  if (used.host)
    text += ", " + part("host", used.host, options.hostRam);
  if (used.nvme)
    text += ", " + part("nvme", used.nvme, options.nvmeSize);
  Traffic traffic = trafficOf(plan);
  std::string moves;
  auto move = [&](const char *name, uint64_t bytes) {
    if (bytes)
      moves += (moves.empty() ? "" : ", ") + std::string(name) + " " + human(bytes);
  };
  move("h2d", traffic.h2d);
  move("d2h", traffic.d2h);
  move("nvme read", traffic.nvmeRead);
  move("nvme write", traffic.nvmeWrite);
  if (!moves.empty())
    text += "; per step " + moves;
  return text;
}

} // namespace off::offc
