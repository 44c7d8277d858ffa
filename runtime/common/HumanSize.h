// Sizes as people write them on the command line: 24G, 512M, 1.5T, 4096.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace off {

/// Parses `text` as a byte count: a non-negative decimal number with an
/// optional binary suffix K, M, G or T (powers of 1024; an optional trailing
/// "B" or "iB" is accepted, case-insensitive). Returns nullopt on anything
/// else, including overflow past 2^64.
std::optional<uint64_t> parseHumanSize(std::string_view text);

/// The inverse for display: 25769803776 -> "24.0G", 1000 -> "1000B".
std::string formatHumanSize(uint64_t bytes);

} // namespace off
