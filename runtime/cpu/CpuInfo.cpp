#include "runtime/cpu/CpuInfo.h"

#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/GemmBf16.h"
#include "runtime/optim/AdamW.h"

#include <fstream>
#include <set>
#include <sstream>

namespace off::cpu {
namespace {

/// The first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfoField(const std::string &key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0)
      continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

} // namespace

std::string cpuModelName() {
  std::string name = cpuinfoField("model name");
  return name.empty() ? "unknown CPU" : name;
}

std::string cpuIsaFlags() {
  std::set<std::string> have;
  std::istringstream flags(cpuinfoField("flags"));
  for (std::string flag; flags >> flag;)
    have.insert(flag);
  std::string text;
  for (const char *flag : {"avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "amx_tile",
                           "amx_bf16"})
    if (have.count(flag))
      text += (text.empty() ? "" : " ") + std::string(flag);
  return text.empty() ? "(none of avx2, avx512f, amx)" : text;
}

std::string cpuBackendDescription() {
  return "cpu: " + cpuModelName() + "\nisa: " + cpuIsaFlags() + "\nf32 gemm: " +
         f32GemmDescription() + "\nbf16 gemm: " + bf16GemmDescription() +
         "\nadamw: " + optim::adamIsaName(optim::defaultAdamIsa()) + "\n";
}

} // namespace off::cpu
