#include "runtime/common/Tier.h"

namespace off {

const char *tierName(Tier tier) {
  switch (tier) {
  case Tier::Device: return "device";
  case Tier::Host: return "host";
  case Tier::Nvme: return "nvme";
  }
  return "?";
}

const char *streamKindName(StreamKind kind) {
  switch (kind) {
  case StreamKind::Compute: return "compute";
  case StreamKind::H2D: return "h2d";
  case StreamKind::D2H: return "d2h";
  case StreamKind::NvmeRead: return "nvme-read";
  case StreamKind::NvmeWrite: return "nvme-write";
  case StreamKind::HostOptimizer: return "host-optimizer";
  case StreamKind::Collective: return "collective";
  }
  return "?";
}

} // namespace off
