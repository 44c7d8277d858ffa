// See TierAccount.h.

#include "runtime/backend/TierAccount.h"

#include "runtime/common/HumanSize.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace off::backend {

void TierAccount::reserve(const ArenaRequest &request) {
  std::lock_guard lock(mutex_);
  TierUsage &usage = usage_[size_t(request.tier)];
  if (request.budget && request.size > request.budget - std::min(request.budget, usage.current))
    throw std::runtime_error(
        request.label + " needs " + formatHumanSize(request.size) + " (" +
        std::to_string(request.size) + " bytes); with the " + tierName(request.tier) +
        " arenas already allocated (" + std::to_string(usage.current) +
        " bytes) that is over the " + tierName(request.tier) + " budget of " +
        std::to_string(request.budget) + " bytes");
  usage.current += request.size;
  usage.peak = std::max(usage.peak, usage.current);
}

void TierAccount::release(Tier tier, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  usage_[size_t(tier)].current -= bytes;
}

TierUsage TierAccount::usage(Tier tier) const {
  std::lock_guard lock(mutex_);
  return usage_[size_t(tier)];
}

} // namespace off::backend
