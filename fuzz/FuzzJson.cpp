// Fuzz target: Json::parse (runtime/model/Json.h), the strict JSON parser
// under safetensors headers, config.json and trainer_state.json.
//
// Input: any text. Json::parse has no file name (its callers add it), so a
// rejection must be a JsonError whose offset lies inside the input and whose
// message says "at byte N: ...". An accepted document is checked with code
// of our own: it is valid UTF-8 (no surrogates, no overlong forms) since
// every byte outside strings is ASCII and strings must be UTF-8; its compact
// dump parses back to the same dump; and the typed number accessors either
// answer or throw std::runtime_error (never anything undefined).
#include "fuzz/FuzzTarget.h"
#include "runtime/model/Json.h"

#include <stdexcept>

namespace off::fuzz {

const char *const kTargetName = "json";

namespace {

using model::Json;

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

template <class Access> void ignoreRuntimeError(Access &&access) {
  try {
    access();
  } catch (const std::runtime_error &) {
  }
}

// Walks every value, calling the typed accessors that apply to it.
void exercise(const Json &value, int depth) {
  if (depth > Json::kMaxDepth + 1)
    violation("accepted nesting deeper than kMaxDepth");
  switch (value.kind()) {
  case Json::Kind::Number:
    // Out of range or not an integer: std::runtime_error, as documented.
    ignoreRuntimeError([&] { (void)value.asInt64(); });
    ignoreRuntimeError([&] { (void)value.asUint64(); });
    ignoreRuntimeError([&] { (void)value.asDouble(); });
    return;
  case Json::Kind::Array:
    for (const Json &item : value.items())
      exercise(item, depth + 1);
    return;
  case Json::Kind::Object:
    for (const auto &[key, member] : value.members()) {
      if (value.find(key) != &member)
        violation("find(\"" + key + "\") does not return its member");
      exercise(member, depth + 1);
    }
    return;
  default:
    return;
  }
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  Json value;
  try {
    value = Json::parse(text);
  } catch (const model::JsonError &error) {
    const std::string expected = "at byte " + std::to_string(error.offset) + ": ";
    if (error.offset > size || std::string(error.what()).rfind(expected, 0) != 0)
      violation(std::string("JsonError with a bad offset or message: ") + error.what());
    return Outcome::Rejected;
  } catch (const std::exception &error) {
    violation(std::string("escaped ") + typeid(error).name() + ": " + error.what());
  }
  if (!isValidUtf8(data, size))
    violation("accepted a document that is not valid UTF-8");
  exercise(value, 0);
  const std::string dumped = value.dump();
  std::string again;
  try {
    again = Json::parse(dumped).dump();
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
