// offc simulate: replays a plan.bin on a device profile (compiler/Simulate)
// and says how long the step takes, how busy each stream is, what each tier
// holds at its peak and what crosses each link.
//
//   offc simulate PLAN.bin [--profile NAME|FILE.json] [--report FILE.json]
//                 [--trace FILE.json] [--memory-plot FILE.svg]

#include "compiler/Simulate/DeviceProfile.h"
#include "compiler/Simulate/LowerBound.h"
#include "compiler/Simulate/Simulator.h"
#include "runtime/common/CliCommand.h"
#include "runtime/common/HumanSize.h"
#include "runtime/plan/Plan.h"
#include "tools/offc/CliSupport.h"
#include "tools/offc/Commands.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace off::offc {
namespace {

constexpr const char *kCommand = "offc simulate";

std::string seconds(double s) {
  if (s >= 1)
    return llvm::formatv("{0:f3} s", s).str();
  if (s >= 1e-3)
    return llvm::formatv("{0:f3} ms", s * 1e3).str();
  return llvm::formatv("{0:f1} us", s * 1e6).str();
}

} // namespace

int runSimulate(const std::vector<std::string> &argv) {
  std::string planPath, profileName = "cpu-host", report, trace, plot;
  cli::Command cmd(kCommand, "PLAN.bin [--profile NAME|FILE.json] [--report FILE] [--trace FILE] "
                   "[--memory-plot FILE]",
                   "Replays a plan's streams on a device profile: step time, busy time per "
                   "stream, peak bytes per tier, bytes per link.");
  cmd.positional("PLAN.bin", planPath, "the plan (offc compile -o)");
  cmd.group("Machine");
  cmd.option("--profile", profileName, "P",
             "a built-in device profile (models/devices: h100-80g, a100-80g, a100-40g,\n"
             "rtx4090-24g, rtx3090-24g, l4-24g, t4-16g, cpu-host) or a profile .json\n"
             "(default cpu-host: the CPU backend)");
  cmd.group("Output");
  cmd.option("--report", report, "FILE", "the figures as JSON ('-': stdout)");
  cmd.option("--trace", trace, "FILE",
             "Chrome trace-event JSON of the step (opens in Perfetto): a track\n"
             "per stream, a memory counter per tier");
  cmd.option("--memory-plot", plot, "FILE",
             "SVG: the bytes alive per tier over the step,\nwith the arena and the budget");
  if (std::optional<int> exit = cmd.parse(argv))
    return *exit;
  if (planPath.empty())
    return cmd.usageError("no plan: give PLAN.bin");
  std::vector<std::pair<const char *, std::string>> named = {
      {"--report", report}, {"--trace", trace}, {"--memory-plot", plot}};
  for (size_t i = 0; i < named.size(); ++i) {
    if (named[i].second.empty())
      continue;
    if (named[i].second == planPath)
      return cmd.usageError("'" + planPath + "' is the plan: write the output elsewhere");
    for (size_t j = i + 1; j < named.size(); ++j)
      if (named[i].second == named[j].second)
        return cmd.usageError(std::string(named[i].first) + " and " + named[j].first +
                              " name the same file '" + named[i].second + "'");
  }
  auto fail = [](const std::string &message) {
    llvm::errs() << kCommand << ": error: " << message << "\n";
    return 1;
  };
  std::string error;
  std::optional<sim::SimulatedPlan> loaded = sim::simulatePlanFile(planPath, profileName, error);
  if (!loaded)
    return fail(error);
  const plan::Plan *plan = &loaded->plan;
  const sim::DeviceProfile *profile = &loaded->profile;
  const sim::Simulation *sim = &loaded->simulation;
  std::optional<sim::BoundInputs> inputs = sim::boundInputs(*plan, *sim, *profile, error);
  if (!inputs)
    return fail(planPath + ": " + error);
  sim::Bound bound = sim::lowerBound(*inputs);
  std::vector<PendingOutput> outputs;
  if (!report.empty())
    outputs.push_back(
        {report, [&](llvm::raw_ostream &os) { os << sim::simulationReport(*sim, &bound); }});
  if (!trace.empty())
    outputs.push_back({trace, [&](llvm::raw_ostream &os) { os << sim::chromeTrace(*plan, *sim); }});
  if (!plot.empty())
    outputs.push_back({plot, [&](llvm::raw_ostream &os) { os << sim::memoryPlot(*plan, *sim); }});
  if (llvm::Error e = writeOutputsAtomically(outputs))
    return fail(llvm::toString(std::move(e)));

  // The summary goes to stderr when stdout carries the JSON.
  llvm::raw_ostream &os =
      report == "-" || trace == "-" || plot == "-" ? llvm::errs() : llvm::outs();
  os << llvm::formatv("{0}: {1} on {2}: step {3}, {4:f3} GFLOP\n", kCommand, planPath,
                      profile->name, seconds(sim->stepSeconds), double(sim->flops) / 1e9);
  os << llvm::formatv("  lower bound {0} ({1}; AdamW {2:f0}% on the device): step / bound "
                      "{3:f2}\n",
                      seconds(bound.seconds), bound.limit, 100 * bound.deviceFraction,
                      bound.seconds > 0 ? sim->stepSeconds / bound.seconds : 0.0);
  for (const sim::StreamUse &s : sim->streams)
    os << llvm::formatv("  stream {0,-15} busy {1,12} ({2,5:f1}%), {3} kernels, {4} copies\n",
                        s.name, seconds(s.busy),
                        sim->stepSeconds > 0 ? 100 * s.busy / sim->stepSeconds : 0.0,
                        s.kernels, s.copies);
  for (const sim::TierUse &t : sim->tiers)
    if (t.peakBytes)
      os << llvm::formatv("  tier {0,-7} peak {1} (bytes alive at most {2}, at {3})\n", t.name,
                          formatHumanSize(t.peakBytes), formatHumanSize(t.peakLiveBytes),
                          seconds(t.peakLiveAt));
  os << llvm::formatv("  per step: h2d {0}, d2h {1}, nvme read {2}, nvme write {3}\n",
                      formatHumanSize(sim->h2d), formatHumanSize(sim->d2h),
                      formatHumanSize(sim->nvmeRead), formatHumanSize(sim->nvmeWrite));
  return 0;
}

} // namespace off::offc
