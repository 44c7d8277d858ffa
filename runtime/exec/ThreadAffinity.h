// Pinning stream workers to CPUs (off by default). On the CPU backend the
// compute stream wants most cores and the copy streams one between them; on
// a GPU box the copy/NVMe workers want the cores near the device's PCIe root.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace off::exec {

/// Parses "compute=0-5;h2d=6;d2h=6;nvme-read=7,8" into stream name -> CPUs.
/// Throws std::invalid_argument naming the bad part.
std::map<std::string, std::vector<int>>
parseStreamAffinity(std::string_view text);

/// Restricts the calling thread to `cpus`; throws std::runtime_error with
/// the OS's reason (e.g. a CPU outside this process's cpuset).
void pinCurrentThread(const std::vector<int> &cpus);

/// The CPUs the calling thread may run on.
std::vector<int> currentThreadCpus();

} // namespace off::exec
