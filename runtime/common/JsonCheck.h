// The strict JSON check of Json.h for code that reads JSON with another
// library and is built without exceptions (the compiler reads config.json
// with llvm::json, whose recursive parser would overflow the stack on a
// deeply nested file): run this first, then parse.
#pragma once

#include <string>
#include <string_view>

namespace off {

/// "" when `text` is one strict JSON document (Json.h: RFC 8259, UTF-8, no
/// duplicate keys, nesting at most 64 levels), else the problem as
/// JsonError states it. Never throws; uses no recursion.
std::string checkJson(std::string_view text);

} // namespace off
