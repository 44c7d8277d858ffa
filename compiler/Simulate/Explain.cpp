// See Explain.h.

#include "compiler/Simulate/Explain.h"

#include "runtime/common/HumanSize.h"
#include "runtime/common/Json.h"
#include "runtime/common/LayerName.h"

#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

namespace off::sim {
namespace {

/// "model.layers.3" for a name inside layer 3, else "".
std::string layerOf(const std::string &name) { return std::string(layerOfName(name)); }

/// The parameter a tensor stands for: the name before "@" (a copy) and
/// before ".exp_avg" / ".exp_avg_sq" / ".bf16" / ".grad" suffixes, when that
/// names a PARAM; "" otherwise.
std::string paramOf(const std::string &name, const std::set<std::string> &params) {
  std::string base = name.substr(0, name.find('@'));
  for (const char *suffix : {".exp_avg_sq", ".exp_avg", ".bf16", ".grad"}) {
    std::string s = suffix;
    if (base.size() > s.size() && base.compare(base.size() - s.size(), s.size(), s) == 0 &&
        params.count(base.substr(0, base.size() - s.size())))
      base = base.substr(0, base.size() - s.size());
  }
  return params.count(base) ? base : "";
}

/// The row of a parameter: its layer, or its module ("lm_head.weight" ->
/// "lm_head").
std::string rowOf(const std::string &param) {
  std::string layer = layerOf(param);
  if (!layer.empty())
    return layer;
  size_t dot = param.rfind('.');
  return dot == std::string::npos ? param : param.substr(0, dot);
}

const char *tierName(const plan::Plan &plan, const plan::Tensor &t) {
  switch (plan.tiers(int(plan.arenas(int(t.arena())).tier())).kind()) {
  case plan::TIER_HOST: return "host";
  case plan::TIER_NVME: return "nvme";
  default: return "device";
  }
}

bool endsWith(const std::string &s, const char *suffix) {
  std::string x = suffix;
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

/// Where a class of a row lives: one tier, "mixed" when its tensors differ.
void noteTier(std::string &slot, const char *tier) {
  if (slot.empty() || slot == "-")
    slot = tier;
  else if (slot != tier)
    slot = "mixed";
}

std::string seconds(double s) {
  char text[32];
  if (s == 0)
    return "-";
  if (s >= 1)
    std::snprintf(text, sizeof text, "%.3f s", s);
  else if (s >= 1e-3)
    std::snprintf(text, sizeof text, "%.3f ms", s * 1e3);
  else
    std::snprintf(text, sizeof text, "%.1f us", s * 1e6);
  return text;
}

} // namespace

std::vector<LayerRow> explainLayers(const plan::Plan &plan, const Simulation &sim) {
  std::set<std::string> params;
  for (const plan::Tensor &t : plan.tensors())
    if (t.role() == plan::PARAM && t.copy_of().empty())
      params.insert(t.name());
  std::vector<std::string> rowOfTensor(size_t(plan.tensors_size()));
  for (int i = 0; i < plan.tensors_size(); ++i) {
    std::string param = paramOf(plan.tensors(i).name(), params);
    if (!param.empty())
      rowOfTensor[i] = rowOf(param);
  }
  // Gradients are named by value (act.N): an adam_step's second operand is
  // its parameter's gradient, and a copy into a tensor of a row carries that
  // row's value (the gradient's device original before its d2h copy).
  for (const plan::Stream &stream : plan.streams())
    for (const plan::Instruction &inst : stream.instructions())
      if (inst.has_kernel() && inst.kernel().op() == "adam_step" &&
          inst.kernel().inputs_size() >= 2)
        rowOfTensor[inst.kernel().inputs(1)] = rowOfTensor[inst.kernel().inputs(0)];
  for (const plan::Stream &stream : plan.streams())
    for (const plan::Instruction &inst : stream.instructions())
      if (inst.has_copy() && rowOfTensor[inst.copy().src()].empty())
        rowOfTensor[inst.copy().src()] = rowOfTensor[inst.copy().dst()];
  std::vector<LayerRow> rows;
  std::map<std::string, size_t> index;
  auto row = [&](const std::string &name) -> LayerRow & {
    auto [it, fresh] = index.emplace(name, rows.size());
    if (fresh) {
      rows.emplace_back();
      rows.back().name = name;
    }
    return rows[it->second];
  };
  // Kernels to rows, in stream order (the compute stream first: rows come
  // in the order layers compute), and each row's forward signatures.
  std::map<std::string, std::set<std::string>> forward;
  bool backwardStarted = false;
  std::map<int, std::string> current; // per stream: the row of the last kernel
  bool recomputing = false;
  for (const Slice &slice : sim.slices) {
    const plan::Instruction &inst =
        plan.streams(slice.stream).instructions(slice.instruction);
    if (!inst.has_kernel())
      continue;
    const plan::Kernel &k = inst.kernel();
    std::string r, signature = k.op();
    bool readsParam = false;
    for (const auto &[key, attr] : std::map<std::string, plan::Attr>(k.attrs().begin(),
                                                                      k.attrs().end()))
      signature += " " + key + "=" + attr.ShortDebugString();
    for (uint32_t id : k.inputs()) {
      std::string param = paramOf(plan.tensors(int(id)).name(), params);
      if (!param.empty()) {
        signature += " " + param;
        readsParam = true;
      }
      if (r.empty())
        r = rowOfTensor[id];
    }
    for (uint32_t id : k.outputs())
      if (r.empty())
        r = rowOfTensor[id];
    if (r.empty())
      r = current.count(slice.stream) ? current[slice.stream] : "(other)";
    current[slice.stream] = r;
    LayerRow &lr = row(r);
    if (k.op() == "adam_step") {
      lr.optimizer_s += slice.seconds;
      const std::string &where = sim.streams[slice.stream].name;
      lr.optimizerStream = lr.optimizerStream.empty() || lr.optimizerStream == where
                               ? where
                               : "mixed";
      continue;
    }
    if (plan.streams(slice.stream).kind() != plan::COMPUTE)
      continue;
    bool grad = endsWith(k.op(), "_grad");
    // Reading the token ids after a backward has begun starts the next
    // micro-batch's forward (--grad-accum K: K forward/backward rounds).
    for (uint32_t id : k.inputs())
      if (backwardStarted && !grad && plan.tensors(int(id)).role() == plan::INPUT &&
          plan.tensors(int(id)).name() == "input_ids") {
        backwardStarted = recomputing = false;
        forward.clear();
      }
    backwardStarted = backwardStarted || grad;
    // A forward kernel on a parameter that runs again in the backward starts
    // a recompute, which lasts until the next gradient kernel.
    if (grad)
      recomputing = false;
    else if (backwardStarted && readsParam && forward[r].count(signature))
      recomputing = true;
    if (!backwardStarted) {
      lr.forward += slice.seconds;
      lr.forwardWork += slice.work;
      if (readsParam)
        forward[r].insert(signature);
    } else if (recomputing) {
      lr.recompute += slice.seconds;
      lr.recomputed = true;
    } else {
      lr.backward += slice.seconds;
      lr.backwardWork += slice.work;
    }
  }
  // Copies: the bytes of a row's tensors per link.
  for (const Slice &slice : sim.slices) {
    const plan::Instruction &inst =
        plan.streams(slice.stream).instructions(slice.instruction);
    if (!inst.has_copy())
      continue;
    const std::string &src = rowOfTensor[inst.copy().src()];
    const std::string &r = !src.empty() ? src : rowOfTensor[inst.copy().dst()];
    row(r.empty() ? "(other)" : r).bytes[sim.streams[slice.stream].name] += slice.bytes;
  }
  // Where each class lives: the persistent tensors themselves.
  for (const plan::Tensor &t : plan.tensors()) {
    std::string param = paramOf(t.name(), params);
    if (param.empty() || t.name().find('@') != std::string::npos || !t.copy_of().empty())
      continue;
    LayerRow &lr = row(rowOf(param));
    if (t.role() == plan::PARAM)
      noteTier(lr.params, tierName(plan, t));
    else if (t.role() == plan::OPTIMIZER_STATE)
      noteTier(lr.optimizer, tierName(plan, t));
    else if (t.role() == plan::GRAD)
      noteTier(lr.grads, tierName(plan, t));
  }
  for (const plan::Stream &stream : plan.streams())
    for (const plan::Instruction &inst : stream.instructions())
      if (inst.has_kernel() && inst.kernel().op() == "adam_step" &&
          inst.kernel().inputs_size() >= 2) {
        const plan::Tensor &g = plan.tensors(int(inst.kernel().inputs(1)));
        if (!rowOfTensor[inst.kernel().inputs(1)].empty())
          noteTier(row(rowOfTensor[inst.kernel().inputs(1)]).grads, tierName(plan, g));
      }
  for (LayerRow &lr : rows)
    for (std::string *slot : {&lr.params, &lr.grads, &lr.optimizer, &lr.optimizerStream})
      if (slot->empty())
        *slot = "-";
  return rows;
}

std::string explainReport(const Simulation &sim, const std::vector<LayerRow> &rows) {
  Json out = Json::array();
  for (const LayerRow &r : rows) {
    Json bytes = Json::object();
    for (const auto &[link, n] : r.bytes)
      bytes[link] = n;
    out.push_back(Json{{"layer", r.name},
                       {"params", r.params},
                       {"grads", r.grads},
                       {"optimizer", r.optimizer},
                       {"recomputed", r.recomputed},
                       {"forward_s", r.forward},
                       {"recompute_s", r.recompute},
                       {"backward_s", r.backward},
                       {"adam_s", r.optimizer_s},
                       {"adam_stream", r.optimizerStream},
                       {"bytes", std::move(bytes)}});
  }
  return Json{{"profile", sim.profile}, {"step_s", sim.stepSeconds}, {"layers", std::move(out)}}
             .dump(2) +
         "\n";
}

std::string explainTable(const Simulation &sim, const std::vector<LayerRow> &rows) {
  std::vector<std::string> links;
  for (const StreamUse &s : sim.streams)
    if (s.copies)
      links.push_back(s.name);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head = {"layer",    "params",   "grads",    "optimizer", "recompute",
                                   "forward",  "recompute", "backward", "adam",      "adam on"};
  for (const std::string &l : links)
    head.push_back(l);
  cells.push_back(head);
  for (const LayerRow &r : rows) {
    std::vector<std::string> line = {r.name,
                                     r.params,
                                     r.grads,
                                     r.optimizer,
                                     r.recomputed ? "yes" : "no",
                                     seconds(r.forward),
                                     seconds(r.recompute),
                                     seconds(r.backward),
                                     seconds(r.optimizer_s),
                                     r.optimizerStream};
    for (const std::string &l : links) {
      auto it = r.bytes.find(l);
      line.push_back(it == r.bytes.end() ? "-" : formatHumanSize(it->second));
    }
    cells.push_back(line);
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto &line : cells)
    for (size_t c = 0; c < line.size(); ++c)
      width[c] = std::max(width[c], line[c].size());
  std::ostringstream out;
  for (const auto &line : cells) {
    for (size_t c = 0; c < line.size(); ++c) {
      std::string cell = line[c];
      bool left = c < 5 || c == 9;
      std::string pad(width[c] - cell.size(), ' ');
      std::string text = (c ? "  " : "") + (left ? cell + pad : pad + cell);
      out << (c + 1 == line.size() ? text.substr(0, text.find_last_not_of(' ') + 1) : text);
    }
    out << "\n";
  }
  return out.str();
}

} // namespace off::sim
