// Memory tiers and stream kinds: the runtime's one vocabulary for where bytes
// live and what a stream does. plan.proto's TierKind / StreamKind (the wire
// format) convert to these in runtime/plan/PlanVocabulary.h.
#pragma once

#include <cstdint>

namespace off {

/// Where bytes live. The device tier is host memory on the CPU backend (with
/// the same cap); the NVMe tier has no pointer, only offsets that an NVMe
/// backend turns into file positions.
enum class Tier : uint8_t { Device, Host, Nvme };

/// NVMe-tier arenas are whole blocks of this size (O_DIRECT's alignment):
/// the compiler rounds their size up to it and the files hold exactly that.
constexpr uint64_t kNvmeBlockBytes = 4096;

/// "device", "host", "nvme".
const char *tierName(Tier tier);

/// What a stream runs: kernels on the device (compute), copies between
/// device and host (h2d, d2h), NVMe transfers, the host optimizer's kernels,
/// collectives (reserved: they come with runtime/comm).
enum class StreamKind : uint8_t {
  Compute,
  H2D,
  D2H,
  NvmeRead,
  NvmeWrite,
  HostOptimizer,
  Collective,
};

/// "compute", "h2d", "d2h", "nvme-read", "nvme-write", "host-optimizer",
/// "collective".
const char *streamKindName(StreamKind kind);

/// Streams whose work the host CPU does itself (NVMe transfers, the host
/// optimizer): on a GPU backend they wait for device work on the host.
inline bool runsOnHost(StreamKind kind) {
  return kind == StreamKind::NvmeRead || kind == StreamKind::NvmeWrite ||
         kind == StreamKind::HostOptimizer;
}

} // namespace off
