#include "runtime/plan/PlanVocabulary.h"

namespace off::plan {

std::optional<off::DType> toDType(DType dtype) {
  switch (dtype) {
  case F32: return off::DType::F32;
  case BF16: return off::DType::BF16;
  case F16: return off::DType::F16;
  case I32: return off::DType::I32;
  case I64: return off::DType::I64;
  case U8: return off::DType::U8;
  case F64: return off::DType::F64;
  default: return std::nullopt;
  }
}

DType toPlanDType(off::DType dtype) {
  switch (dtype) {
  case off::DType::F32: return F32;
  case off::DType::BF16: return BF16;
  case off::DType::F16: return F16;
  case off::DType::I32: return I32;
  case off::DType::I64: return I64;
  case off::DType::U8: return U8;
  case off::DType::F64: return F64;
  default: return DTYPE_UNSPECIFIED;
  }
}

std::optional<off::Tier> toTier(TierKind kind) {
  switch (kind) {
  case TIER_DEVICE: return off::Tier::Device;
  case TIER_HOST: return off::Tier::Host;
  case TIER_NVME: return off::Tier::Nvme;
  default: return std::nullopt;
  }
}

std::optional<off::StreamKind> toStreamKind(StreamKind kind) {
  switch (kind) {
  case COMPUTE: return off::StreamKind::Compute;
  case H2D: return off::StreamKind::H2D;
  case D2H: return off::StreamKind::D2H;
  case NVME_READ: return off::StreamKind::NvmeRead;
  case NVME_WRITE: return off::StreamKind::NvmeWrite;
  case HOST_OPTIMIZER: return off::StreamKind::HostOptimizer;
  case COLLECTIVE: return off::StreamKind::Collective;
  default: return std::nullopt;
  }
}

} // namespace off::plan
