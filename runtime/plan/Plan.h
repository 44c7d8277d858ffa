// The plan.bin message and its framing. Include this, not plan.pb.h.
//
// File layout (all integers little-endian):
//   8 bytes  magic "OFFPLAN\x01"
//   8 bytes  payload length N
//   N bytes  the serialized off.plan.Plan protobuf
//   4 bytes  CRC-32 (IEEE) of the payload
// so that a truncated, foreign or corrupted file is recognised before any
// protobuf parsing, and reported as such.
#pragma once

#include "plan.pb.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace off::plan {

/// The Plan.format_version this build writes and reads.
inline constexpr uint32_t kFormatVersion = 3;

/// Bytes per element of a dtype (0 for DTYPE_UNSPECIFIED).
uint64_t dtypeSize(DType dtype);

/// The plan's protobuf bytes, the same for the same plan in every run
/// (deterministic serialization: map entries sorted by key). False when
/// protobuf refuses (e.g. a message over 2 GiB).
bool serializePlan(const Plan &plan, std::string &bytes);

/// Writes `plan` to `path` atomically (temp file, fsync, rename), its
/// payload from serializePlan: compiling the same input twice gives the same
/// file. On failure returns false with `error` naming the file and the
/// problem.
bool writePlanFile(const Plan &plan, const std::string &path, std::string &error);

/// Reads and frames-checks `path`, then validates it (validatePlan, then
/// verifyPlanOrder). Returns
/// nullopt with `error` (naming the file) when anything is wrong.
std::optional<Plan> readPlanFile(const std::string &path, std::string &error);

/// readPlanFile on bytes already in memory (framing, CRC, protobuf, then
/// validatePlan); `path` only names the source in `error`.
std::optional<Plan> parsePlanBytes(std::string_view bytes, const std::string &path,
                                   std::string &error);

/// Every problem found in `plan` (empty when it is valid): version, tier and
/// arena references, every tensor's offset and size against its arena and
/// alignment, ids in instructions, events, budgets. Messages name the tensor
/// or instruction they are about.
std::vector<std::string> validatePlan(const Plan &plan);

/// The order of a valid plan (validatePlan found nothing), checked without
/// running it: every read is ordered by the streams' events after the write
/// of its value and before any later write of its bytes, no two accesses of
/// the same bytes race, the waits can all be met, and params, optimizer
/// states, constants and outputs hold their own value at the end. Returns
/// the problems (at most 20), naming streams, instructions and tensors.
std::vector<std::string> verifyPlanOrder(const Plan &plan);

/// CRC-32 (IEEE 802.3, as zlib's crc32) of a byte range.
uint32_t crc32(const void *data, size_t size);

} // namespace off::plan
