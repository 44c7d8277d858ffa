// Fuzz target: parseJson (runtime/common/Json.h), the strict JSON reader
// (nlohmann-json's SAX parser under our checks) behind safetensors headers,
// config.json and trainer_state.json, and checkJson (JsonCheck.h), the
// same check for the compiler.
//
// Input: any text. parseJson has no file name (its callers add it), so a
// rejection must be a JsonError saying "at byte N: ..." with N inside the
// input, "duplicate key '...'" or "nesting deeper than 64 levels", and
// checkJson must say the same. An accepted document is checked with code of
// our own: it is valid UTF-8 (no surrogates, no overlong forms) since every
// byte outside strings is ASCII and strings must be UTF-8; it nests at most
// kJsonMaxDepth levels and no object holds a key twice; checkJson accepts
// it; its compact dump parses back to the same dump; and the integer
// accessors agree with the number's text.
#include "fuzz/FuzzTarget.h"
#include "runtime/common/Json.h"
#include "runtime/common/JsonCheck.h"

#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace off::fuzz {

const char *const kTargetName = "json";

namespace {


// RFC 3629 UTF-8, written out independently of the parser's decoder.
bool isValidUtf8(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    size_t more;
    uint32_t cp, min;
    if (b < 0x80) { ++i; continue; }
    if ((b & 0xe0) == 0xc0) { more = 1; cp = b & 0x1f; min = 0x80; }
    else if ((b & 0xf0) == 0xe0) { more = 2; cp = b & 0x0f; min = 0x800; }
    else if ((b & 0xf8) == 0xf0) { more = 3; cp = b & 0x07; min = 0x10000; }
    else return false;
    if (i + more >= n)
      return false; // truncated sequence
    for (size_t k = 1; k <= more; ++k) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += more + 1;
  }
  return true;
}

// Walks every value: depth, unique keys, integers that read back as written.
void exercise(const Json &value, int depth) {
  if (depth > kJsonMaxDepth)
    violation("accepted nesting deeper than kJsonMaxDepth");
  if (value.is_number()) {
    if (std::optional<uint64_t> u = jsonUint64(value); u && value.dump() != std::to_string(*u))
      violation("jsonUint64 gives " + std::to_string(*u) + " for " + value.dump());
    if (std::optional<int64_t> i = jsonInt64(value); i && value.dump() != std::to_string(*i))
      violation("jsonInt64 gives " + std::to_string(*i) + " for " + value.dump());
    if (value.is_number_float() && (jsonUint64(value) || jsonInt64(value)))
      violation("a non-integer number reads as an integer: " + value.dump());
    return;
  }
  if (value.is_array()) {
    for (const Json &item : value)
      exercise(item, depth + 1);
  } else if (value.is_object()) {
    std::set<std::string> keys;
    for (const auto &member : value.items()) {
      if (!keys.insert(member.key()).second)
        violation("accepted the key '" + member.key() + "' twice in one object");
      if (jsonMember(value, member.key()) != &member.value())
        violation("jsonMember(\"" + member.key() + "\") does not return its member");
      exercise(member.value(), depth + 1);
    }
  }
}

bool isOurRejection(const std::string &message, size_t size) {
  if (message.rfind("duplicate key '", 0) == 0 || message == "nesting deeper than 64 levels")
    return true;
  if (message.rfind("at byte ", 0) != 0)
    return false;
  size_t end = message.find(": ");
  if (end == std::string::npos)
    return false;
  std::string offset = message.substr(8, end - 8);
  return !offset.empty() && offset.size() < 20 &&
         offset.find_first_not_of("0123456789") == std::string::npos &&
         std::stoull(offset) <= size;
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  Json value;
  try {
    value = parseJson(text);
  } catch (const JsonError &error) {
    if (!isOurRejection(error.what(), size))
      violation(std::string("JsonError with a bad offset or message: ") + error.what());
    if (checkJson(text) != error.what())
      violation("checkJson says '" + checkJson(text) + "' where parseJson says '" +
                error.what() + "'");
    return Outcome::Rejected;
  } catch (const std::exception &error) {
    violation(std::string("escaped ") + typeid(error).name() + ": " + error.what());
  }
  if (!isValidUtf8(data, size))
    violation("accepted a document that is not valid UTF-8");
  if (std::string problem = checkJson(text); !problem.empty())
    violation("parseJson accepts what checkJson refuses: " + problem);
  exercise(value, 0);
  const std::string dumped = value.dump();
  std::string again;
  try {
    again = parseJson(dumped).dump();
  } catch (const std::exception &error) {
    violation("the dump of an accepted document does not parse: " +
              std::string(error.what()) + " in " + dumped);
  }
  if (again != dumped)
    violation("dump -> parse -> dump changed the document: " + dumped + " vs " + again);
  return Outcome::Accepted;
}

} // namespace off::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  off::fuzz::runFuzzInput(data, size);
  return 0;
}
