// JSON through nlohmann-json, read strictly: what every JSON file offload
// reads (config.json, safetensors headers, trainer_state.json) goes through
// parseJson, and what it writes is a Json's dump().
//
// Strict means: RFC 8259 only (no comments, no trailing commas), strings
// valid UTF-8, no key twice in one object, nesting at most kJsonMaxDepth
// levels (a 50,000-level document is an error, not a stack overflow).
// Objects keep their members in file (or insertion) order; 64-bit integers
// are exact (nlohmann keeps int64/uint64 apart from doubles).
//
// This header includes nlohmann/json.hpp, which needs exceptions: code built
// without them (offc's MLIR side) uses JsonCheck.h instead.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace off {

using Json = nlohmann::ordered_json;

inline constexpr int kJsonMaxDepth = 64;

/// Why a text is not strict JSON: "at byte N: problem" when the grammar
/// breaks (N: the 0-based offset of the byte where it was found; the text's
/// length when it ended too soon), "duplicate key 'k'", or "nesting deeper
/// than 64 levels".
class JsonError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Parses one whole document (whitespace around it allowed, nothing else);
/// throws JsonError. Linear in the text, however many keys an object has.
Json parseJson(std::string_view text);

/// "null", "a boolean", "a number", "a string", "an array", "an object".
const char *jsonKindName(const Json &value);

/// Appends the member `key` to `object` (made an object if null) without
/// looking for it first: for a writer that knows its keys are new (a
/// safetensors header of many tensors; `object[key] = value` would search
/// the members each time).
void jsonAppend(Json &object, std::string key, Json value);

/// The member `key` of `object`; nullptr when absent or not an object.
const Json *jsonMember(const Json &object, std::string_view key);

/// An integer value that fits, else nullopt (1.0, 1e3, -1 for the unsigned
/// one, and 2^64 are not).
std::optional<uint64_t> jsonUint64(const Json &value);
std::optional<int64_t> jsonInt64(const Json &value);

} // namespace off
