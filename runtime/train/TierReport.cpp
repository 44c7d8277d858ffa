// See TierReport.h.

#include "runtime/train/TierReport.h"

#include "runtime/model/Json.h"
#include "runtime/train/Session.h"

#include <cstdio>
#include <sys/stat.h>

namespace off::train {

TierReport measureTiers(const PlanProgram &program, const backend::Backend &backend) {
  TierReport report;
  const plan::Plan &plan = program.plan();
  for (const plan::Tier &tier : plan.tiers()) {
    switch (tier.kind()) {
    case plan::TIER_DEVICE: report.budgetBytes[size_t(Tier::Device)] = tier.budget_bytes(); break;
    case plan::TIER_HOST: report.budgetBytes[size_t(Tier::Host)] = tier.budget_bytes(); break;
    case plan::TIER_NVME: report.budgetBytes[size_t(Tier::Nvme)] = tier.budget_bytes(); break;
    default: break;
    }
  }
  for (Tier tier : {Tier::Device, Tier::Host})
    report.peakBytes[size_t(tier)] = backend.usage(tier).peak;
  // NVMe arenas are files of the program's NVMe backend, not backend arenas:
  // what they take is the size of their stripe files.
  if (const exec::EngineNvmeBackend *nvme = program.nvme())
    for (int a = 0; a < plan.arenas_size(); ++a) {
      if (plan.tiers(int(plan.arenas(a).tier())).kind() != plan::TIER_NVME)
        continue;
      for (const std::string &path : nvme->space(exec::ArenaId(a)).paths()) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
          throw TrainError(path + ": cannot stat the NVMe arena's file for --report");
        report.peakBytes[size_t(Tier::Nvme)] += uint64_t(st.st_size);
      }
    }
  return report;
}

void writeTierReport(const std::string &path, const TierReport &report) {
  model::Json tiers = model::Json::object();
  for (Tier tier : {Tier::Device, Tier::Host, Tier::Nvme})
    tiers[tierName(tier)] = {{"budget_bytes", report.budgetBytes[size_t(tier)]},
                             {"peak_bytes", report.peakBytes[size_t(tier)]}};
  model::Json json = {{"tiers", tiers}};
  std::string text = json.dump(2) + "\n";
  std::FILE *file = std::fopen(path.c_str(), "w");
  bool ok = file && std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (file && std::fclose(file) != 0)
    ok = false;
  if (!ok)
    throw TrainError(path + ": cannot write the --report");
}

} // namespace off::train
