// What a backend's live arenas hold per tier, and the budget check every
// backend makes before it allocates one (one copy of the rule and of its
// message for the host and CUDA backends).
#pragma once

#include "runtime/backend/Backend.h"

#include <array>
#include <mutex>

namespace off::backend {

class TierAccount {
public:
  /// Counts `request.size` bytes as held in its tier; throws
  /// std::runtime_error (naming the arena, the bytes held and the budget)
  /// when that would pass the tier's budget. Undo with release().
  void reserve(const ArenaRequest &request);
  void release(Tier tier, uint64_t bytes);
  TierUsage usage(Tier tier) const;

private:
  mutable std::mutex mutex_;
  std::array<TierUsage, 3> usage_{}; // by Tier
};

} // namespace off::backend
