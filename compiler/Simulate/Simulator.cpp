// See Simulator.h.

#include "compiler/Simulate/Simulator.h"

#include "compiler/Simulate/KernelCost.h"
#include "compiler/Simulate/LowerBound.h"
#include "runtime/common/Json.h"
#include "runtime/common/Tier.h"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

namespace off::sim {
namespace {

const char *kTierNames[3] = {"device", "host", "nvme"};

int tierIndex(const plan::Plan &plan, uint32_t arena) {
  switch (plan.tiers(int(plan.arenas(int(arena)).tier())).kind()) {
  case plan::TIER_HOST: return 1;
  case plan::TIER_NVME: return 2;
  default: return 0;
  }
}

const char *streamName(plan::StreamKind kind) {
  switch (kind) {
  case plan::COMPUTE: return "compute";
  case plan::H2D: return "h2d";
  case plan::D2H: return "d2h";
  case plan::NVME_READ: return "nvme-read";
  case plan::NVME_WRITE: return "nvme-write";
  case plan::HOST_OPTIMIZER: return "host-optimizer";
  case plan::COLLECTIVE: return "collective";
  default: return "stream";
  }
}

/// The bytes a tensor takes in its arena: its size rounded up to the
/// arena's alignment, as off-assign-buffers packs them (an empty tensor
/// still takes one slot).
uint64_t slotBytes(const plan::Plan &plan, const plan::Tensor &t) {
  uint64_t align = std::max<uint64_t>(plan.arenas(int(t.arena())).alignment(), 1);
  return (std::max<uint64_t>(t.size_bytes(), 1) + align - 1) / align * align;
}

/// Values that exist before the step starts and must still exist after it.
bool alivePerStep(plan::Role role) {
  return role == plan::PARAM || role == plan::OPTIMIZER_STATE || role == plan::CONSTANT ||
         role == plan::INPUT;
}

/// Each tensor's lifetime in the replay: from the start of its first write
/// (or of the step) to the end of its last access (or of the step).
struct Lifetime {
  double start = std::numeric_limits<double>::infinity();
  double end = -1;
};

void bytesAlive(const plan::Plan &plan, const std::vector<Lifetime> &life, double stepEnd,
                Simulation &out) {
  // Views (a reshape's result) share their source's bytes: a byte range
  // counts once while any tensor on it is alive.
  using Range = std::tuple<uint32_t, uint64_t, uint64_t>; // arena, offset, size
  struct Change {
    double at;
    int delta; // -1 ends before +1 starts at the same time: [start, end)
    Range range;
  };
  std::vector<Change> changes;
  for (int i = 0; i < plan.tensors_size(); ++i) {
    const plan::Tensor &t = plan.tensors(i);
    double start = life[i].start, end = life[i].end;
    if (alivePerStep(t.role()))
      start = 0, end = stepEnd;
    else if (t.role() == plan::OUTPUT && end >= 0)
      end = stepEnd;
    if (end < 0)
      continue; // never touched
    Range range{t.arena(), t.offset(), slotBytes(plan, t)};
    changes.push_back({start, +1, range});
    changes.push_back({std::max(end, start), -1, range});
  }
  std::sort(changes.begin(), changes.end(), [](const Change &a, const Change &b) {
    return std::tie(a.at, a.delta) < std::tie(b.at, b.delta);
  });
  std::map<Range, int> users;
  uint64_t alive[3] = {0, 0, 0};
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change &c = changes[i];
    int tier = tierIndex(plan, std::get<0>(c.range));
    int &n = users[c.range];
    if (c.delta > 0 && n++ == 0)
      alive[tier] += std::get<2>(c.range);
    if (c.delta < 0 && --n == 0)
      alive[tier] -= std::get<2>(c.range);
    if (i + 1 < changes.size() && changes[i + 1].at == c.at)
      continue; // sample once all changes at this time are in
    for (int k = 0; k < 3; ++k) {
      TierUse &use = out.tiers[k];
      if (use.peakBytes == 0)
        continue; // a tier the plan does not use has no counter
      if (!use.live.empty() && use.live.back().second == alive[k])
        continue;
      use.live.emplace_back(c.at, alive[k]);
      if (alive[k] > use.peakLiveBytes)
        use.peakLiveBytes = alive[k], use.peakLiveAt = c.at;
    }
  }
}

} // namespace

int resourceOf(plan::StreamKind kind, const DeviceProfile &profile) {
  enum { Device, H2D, D2H, Nvme, Host, Collective };
  bool cpu = profile.kind == "cpu";
  switch (kind) {
  case plan::COMPUTE: return cpu ? Host : Device;
  case plan::H2D: return cpu ? Host : H2D;
  case plan::D2H: return cpu ? Host : D2H;
  case plan::NVME_READ:
  case plan::NVME_WRITE: return Nvme;
  case plan::HOST_OPTIMIZER: return Host;
  default: return Collective;
  }
}

std::optional<Simulation> simulate(const plan::Plan &plan, const DeviceProfile &profile,
                                   std::string &error) {
  Simulation out;
  out.profile = profile.name;
  for (const char *name : kTierNames)
    out.tiers.emplace_back().name = name;
  // The extent of each arena: what the runtime allocates for the tier.
  std::vector<uint64_t> extent(size_t(plan.arenas_size()), 0);
  for (const plan::Tensor &t : plan.tensors())
    extent[t.arena()] = std::max(extent[t.arena()], t.offset() + slotBytes(plan, t));
  // An NVMe arena is whole blocks, what its files take (AssignBuffers.cpp).
  for (int a = 0; a < plan.arenas_size(); ++a) {
    int tier = tierIndex(plan, uint32_t(a));
    if (tier == 2)
      extent[a] = (extent[a] + kNvmeBlockBytes - 1) / kNvmeBlockBytes * kNvmeBlockBytes;
    out.tiers[tier].peakBytes += extent[a];
  }

  const int numStreams = plan.streams_size();
  std::map<plan::StreamKind, int> seen;
  for (const plan::Stream &stream : plan.streams()) {
    int n = seen[stream.kind()]++;
    out.streams.push_back(StreamUse{std::string(streamName(stream.kind())) +
                                    (n ? "." + std::to_string(n) : "")});
  }
  std::vector<double> eventAt(plan.num_events(), -1);
  std::vector<int> next(numStreams, 0);
  std::vector<double> clock(numStreams, 0);
  std::vector<Lifetime> life(size_t(plan.tensors_size()));
  auto touch = [&](uint32_t id, double start, double end, bool write) {
    Lifetime &l = life[id];
    if (write || l.end < 0)
      l.start = std::min(l.start, start);
    l.end = std::max(l.end, end);
  };
  // Which resource each stream runs on; streams on one resource share it
  // equally while more than one of them is busy (ResourceOf in Simulator.h).
  std::vector<int> resource(numStreams);
  for (int s = 0; s < numStreams; ++s)
    resource[s] = resourceOf(plan.streams(s).kind(), profile);
  struct Running {
    bool busy = false;
    double remaining = 0, start = 0; // seconds of work left at a full share
    Cost cost;
  };
  std::vector<Running> running(numStreams);
  double now = 0;
  auto finish = [&](int s) {
    const plan::Stream &stream = plan.streams(s);
    const plan::Instruction &inst = stream.instructions(next[s]);
    Running &r = running[s];
    double start = r.start, end = now;
    r.busy = false;
    clock[s] = end;
    StreamUse &use = out.streams[s];
    use.busy += end - start;
    use.work += r.cost.seconds;
    out.slices.push_back(
        Slice{s, next[s], start, end - start, r.cost.flops, r.cost.bytes, r.cost.seconds});
    if (inst.has_copy()) {
      use.copies += 1;
      touch(inst.copy().src(), start, end, false);
      touch(inst.copy().dst(), start, end, true);
      switch (stream.kind()) {
      case plan::H2D: out.h2d += r.cost.bytes; break;
      case plan::D2H: out.d2h += r.cost.bytes; break;
      case plan::NVME_READ: out.nvmeRead += r.cost.bytes; break;
      case plan::NVME_WRITE: out.nvmeWrite += r.cost.bytes; break;
      default: break;
      }
    } else {
      use.kernels += 1;
      out.flops += r.cost.flops;
      const plan::Kernel &k = inst.kernel();
      for (uint32_t id : k.inputs())
        touch(id, start, end, false);
      for (uint32_t id : k.outputs())
        touch(id, start, end, true);
      if (k.has_workspace())
        touch(k.workspace(), start, end, true);
    }
    ++next[s];
  };
  for (;;) {
    // At `now`, run every stream as far as it goes: events take no time, a
    // wait for an event not yet recorded holds its stream, a kernel or copy
    // starts and holds it until its work is done.
    for (bool progress = true; progress;) {
      progress = false;
      for (int s = 0; s < numStreams; ++s) {
        const plan::Stream &stream = plan.streams(s);
        while (!running[s].busy && next[s] < stream.instructions_size()) {
          const plan::Instruction &inst = stream.instructions(next[s]);
          if (inst.has_wait_event()) {
            if (eventAt[inst.wait_event()] < 0)
              break; // not recorded yet: another stream must run first
            clock[s] = now;
          } else if (inst.has_record_event()) {
            eventAt[inst.record_event()] = now;
            clock[s] = now;
          } else {
            std::optional<Cost> cost =
                instructionCost(plan, stream.kind(), inst, profile, error);
            if (!cost) {
              error = "stream " + std::to_string(s) + " (" + out.streams[s].name +
                      ") instruction #" + std::to_string(next[s]) + ": " + error;
              return std::nullopt;
            }
            running[s] = Running{true, cost->seconds, now, *cost};
            if (cost->seconds > 0)
              break;
            finish(s);
            progress = true;
            continue;
          }
          ++next[s];
          progress = true;
        }
      }
    }
    // The next completion: a stream sharing its resource with n-1 others
    // does 1/n of a second's work per second.
    std::map<int, int> sharing;
    for (int s = 0; s < numStreams; ++s)
      if (running[s].busy)
        ++sharing[resource[s]];
    if (sharing.empty())
      break;
    double step = std::numeric_limits<double>::infinity();
    for (int s = 0; s < numStreams; ++s)
      if (running[s].busy)
        step = std::min(step, running[s].remaining * sharing[resource[s]]);
    now += step;
    for (int s = 0; s < numStreams; ++s) {
      if (!running[s].busy)
        continue;
      Running &r = running[s];
      double done = step / sharing[resource[s]];
      // The instruction(s) that set the step end now, whatever rounding left.
      if (r.remaining * sharing[resource[s]] <= step * (1 + 1e-12))
        finish(s);
      else
        r.remaining -= done;
    }
  }
  for (int s = 0; s < numStreams; ++s) {
    if (next[s] < plan.streams(s).instructions_size()) {
      error = "stream " + std::to_string(s) + " (" + out.streams[s].name + ") instruction #" +
              std::to_string(next[s]) + " waits for event " +
              std::to_string(plan.streams(s).instructions(next[s]).wait_event()) +
              ", which is never recorded before it (the waits form a cycle)";
      return std::nullopt;
    }
    out.streams[s].end = clock[s];
    out.stepSeconds = std::max(out.stepSeconds, clock[s]);
  }
  std::stable_sort(out.slices.begin(), out.slices.end(), [](const Slice &a, const Slice &b) {
    return a.stream < b.stream;
  });
  bytesAlive(plan, life, out.stepSeconds, out);
  return out;
}

std::string chromeTrace(const plan::Plan &plan, const Simulation &sim) {
  const int pid = 1;
  Json events = Json::array();
  events.push_back(Json{{"ph", "M"}, {"name", "process_name"}, {"pid", pid},
                        {"args", {{"name", "offc simulate (" + sim.profile + ")"}}}});
  for (size_t s = 0; s < sim.streams.size(); ++s) {
    events.push_back(Json{{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", s},
                          {"args", {{"name", sim.streams[s].name}}}});
    events.push_back(Json{{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", pid},
                          {"tid", s}, {"args", {{"sort_index", s}}}});
  }
  for (const Slice &slice : sim.slices) {
    const plan::Instruction &inst = plan.streams(slice.stream).instructions(slice.instruction);
    Json args = {{"instruction", slice.instruction}, {"bytes", slice.bytes}};
    std::string name;
    if (inst.has_copy()) {
      name = "copy";
      args["src"] = plan.tensors(int(inst.copy().src())).name();
      args["dst"] = plan.tensors(int(inst.copy().dst())).name();
    } else {
      name = inst.kernel().op();
      args["flops"] = slice.flops;
      if (inst.kernel().outputs_size())
        args["output"] = plan.tensors(int(inst.kernel().outputs(0))).name();
    }
    events.push_back(Json{{"ph", "X"}, {"name", name}, {"cat", sim.streams[slice.stream].name},
                          {"pid", pid}, {"tid", slice.stream}, {"ts", slice.start * 1e6},
                          {"dur", slice.seconds * 1e6}, {"args", std::move(args)}});
  }
  for (const TierUse &tier : sim.tiers)
    for (const auto &[at, bytes] : tier.live)
      events.push_back(Json{{"ph", "C"}, {"name", "memory " + tier.name}, {"pid", pid},
                            {"ts", at * 1e6}, {"args", {{"bytes", bytes}}}});
  Json trace = {{"traceEvents", std::move(events)},
                {"displayTimeUnit", "ms"},
                {"otherData", {{"profile", sim.profile}, {"step_s", sim.stepSeconds}}}};
  return trace.dump() + "\n";
}

std::string simulationReport(const Simulation &sim, const Bound *bound) {
  Json streams = Json::array();
  for (const StreamUse &s : sim.streams)
    streams.push_back(Json{{"name", s.name},
                           {"busy_s", s.busy},
                           {"work_s", s.work},
                           {"end_s", s.end},
                           {"busy_fraction", sim.stepSeconds > 0 ? s.busy / sim.stepSeconds : 0},
                           {"kernels", s.kernels},
                           {"copies", s.copies}});
  Json tiers = Json::object();
  for (const TierUse &t : sim.tiers)
    tiers[t.name] = Json{{"peak_bytes", t.peakBytes},
                         {"peak_live_bytes", t.peakLiveBytes},
                         {"peak_live_at_s", t.peakLiveAt}};
  Json report = {{"profile", sim.profile},
                 {"step_s", sim.stepSeconds},
                 {"flops", sim.flops},
                 {"streams", std::move(streams)},
                 {"tiers", std::move(tiers)},
                 {"bytes_per_step",
                  {{"h2d", sim.h2d}, {"d2h", sim.d2h}, {"nvme_read", sim.nvmeRead},
                   {"nvme_write", sim.nvmeWrite}}}};
  if (bound) {
    report["lower_bound_s"] = bound->seconds;
    report["step_over_bound"] = bound->seconds > 0 ? sim.stepSeconds / bound->seconds : 0;
    report["bound"] = {{"limit", bound->limit},
                       {"device_adam_fraction", bound->deviceFraction}};
  }
  return report.dump(2) + "\n";
}

std::optional<SimulatedPlan> simulatePlanFile(const std::string &planPath,
                                              const std::string &profileName,
                                              std::string &error) {
  std::optional<DeviceProfile> profile = loadDeviceProfile(profileName, error);
  if (!profile) {
    error = "--profile: " + error;
    return std::nullopt;
  }
  std::optional<plan::Plan> plan = plan::readPlanFile(planPath, error);
  if (!plan)
    return std::nullopt;
  std::optional<Simulation> simulated = simulate(*plan, *profile, error);
  if (!simulated) {
    error = planPath + ": " + error;
    return std::nullopt;
  }
  return SimulatedPlan{std::move(*plan), std::move(*profile), std::move(*simulated)};
}

} // namespace off::sim
