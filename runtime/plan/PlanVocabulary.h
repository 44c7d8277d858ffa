// plan.proto's enums (the wire format) as the runtime's one vocabulary
// (runtime/common): the only place they are converted.
#pragma once

#include "runtime/common/DType.h"
#include "runtime/common/Tier.h"
#include "runtime/plan/Plan.h"

#include <optional>

namespace off::plan {

/// nullopt for DTYPE_UNSPECIFIED or a value this build does not know.
std::optional<off::DType> toDType(DType dtype);
std::optional<off::Tier> toTier(TierKind kind);
std::optional<off::StreamKind> toStreamKind(StreamKind kind);

/// The wire value of a runtime dtype; DTYPE_UNSPECIFIED for one plan.proto
/// does not have.
DType toPlanDType(off::DType dtype);

} // namespace off::plan
