// offc explain: a plan per layer (compiler/Simulate/Explain.h), replayed on
// a device profile: where each layer's params, gradients and optimizer
// states live, what is recomputed, where the time goes and what crosses
// which link.
//
//   offc explain PLAN.bin [--profile NAME|FILE.json] [--report FILE.json]

#include "compiler/Simulate/DeviceProfile.h"
#include "compiler/Simulate/Explain.h"
#include "compiler/Simulate/Simulator.h"
#include "runtime/common/CliCommand.h"
#include "runtime/plan/Plan.h"
#include "tools/offc/CliSupport.h"
#include "tools/offc/Commands.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace off::offc {

int runExplain(const std::vector<std::string> &argv) {
  constexpr const char *kCommand = "offc explain";
  std::string planPath, profileName = "cpu-host", report;
  cli::Command cmd(kCommand, "PLAN.bin [--profile NAME|FILE.json] [--report FILE]",
                   "Shows a plan per layer: where each layer's params, gradients and "
                   "optimizer states live, whether it is recomputed, its forward, recompute, "
                   "backward and AdamW time on a device profile, and the bytes its tensors "
                   "move per link.");
  cmd.positional("PLAN.bin", planPath, "the plan (offc compile -o)");
  cmd.group("Machine");
  cmd.option("--profile", profileName, "P",
             "a device profile, as for offc simulate\n(default cpu-host)");
  cmd.group("Output");
  cmd.option("--report", report, "FILE", "the rows as JSON ('-': stdout, the table\nthen goes to stderr)");
  if (std::optional<int> exit = cmd.parse(argv))
    return *exit;
  if (planPath.empty())
    return cmd.usageError("no plan: give PLAN.bin");
  if (report == planPath)
    return cmd.usageError("'" + planPath + "' is the plan: write the output elsewhere");
  auto fail = [&](const std::string &message) {
    llvm::errs() << kCommand << ": error: " << message << "\n";
    return 1;
  };
  std::string error;
  std::optional<sim::SimulatedPlan> loaded = sim::simulatePlanFile(planPath, profileName, error);
  if (!loaded)
    return fail(error);
  const plan::Plan *plan = &loaded->plan;
  const sim::DeviceProfile *profile = &loaded->profile;
  const sim::Simulation *simulated = &loaded->simulation;
  std::vector<sim::LayerRow> rows = sim::explainLayers(*plan, *simulated);
  if (!report.empty())
    if (llvm::Error e = writeOutputsAtomically({{report, [&](llvm::raw_ostream &os) {
                                                   os << sim::explainReport(*simulated, rows);
                                                 }}}))
      return fail(llvm::toString(std::move(e)));
  (report == "-" ? llvm::errs() : llvm::outs()) << llvm::formatv("{0}: {1} on {2}: step {3:e3} s (offc simulate for streams "
                                "and peaks)\n",
                                kCommand, planPath, profile->name, simulated->stepSeconds)
               << sim::explainTable(*simulated, rows);
  return 0;
}

} // namespace off::offc
