// JSON in runtime/model: the strict reader of runtime/common/Json.h
// (nlohmann-json underneath) with errors that name the file.
#pragma once

#include "runtime/common/Json.h"

#include <string>
#include <string_view>

namespace off::model {

using off::Json;

/// Parses `text`, the contents of the file `path` (or the part of it that
/// `part` names, e.g. "header"), as a JSON object. Otherwise throws
/// ModelIoError "<path>: not valid JSON: at byte N: ..." (or "duplicate key
/// 'k'", "nesting deeper than 64 levels") or "<path>: is not a JSON object"
/// ("<path>: header is not valid JSON: ..." with a part).
Json parseJsonObject(std::string_view text, const std::string &path,
                     const std::string &part = "");

} // namespace off::model
