#include "runtime/model/Json.h"
#include "runtime/model/ModelError.h"

namespace off::model {

Json parseJsonObject(std::string_view text, const std::string &path, const std::string &part) {
  Json value;
  try {
    value = parseJson(text);
  } catch (const JsonError &error) {
    throwFileError(path, (part.empty() ? "" : part + " is ") + "not valid JSON: " + error.what());
  }
  if (!value.is_object())
    throwFileError(path, (part.empty() ? "" : part + " ") + "is not a JSON object");
  return value;
}

} // namespace off::model
