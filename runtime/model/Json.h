// A small, strict JSON value with a parser and a compact writer: enough for
// safetensors headers, config.json, trainer_state.json and the training log,
// without pulling a JSON library into offrt.
//
// Strictness (what a corrupt header must not slip past): RFC 8259 grammar
// only, no trailing commas or comments, duplicate object keys rejected,
// strings must be valid UTF-8 with escapes decoded (surrogate pairs joined),
// nesting depth capped (kMaxDepth). Numbers keep their source text, so 64-bit
// integers round-trip exactly (asInt64/asUint64) and are not forced through a
// double.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace off::model {

/// A parse error; what() says "at byte N: problem".
class JsonError : public std::runtime_error {
public:
  JsonError(size_t offset, const std::string &problem);
  size_t offset;
};

class Json {
public:
  enum class Kind : uint8_t { Null, Bool, Number, String, Array, Object };
  static constexpr int kMaxDepth = 64;

  Json() = default; // null
  Json(bool value);
  Json(const char *value);
  Json(std::string value);
  Json(std::string_view value);
  Json(double value); // non-finite values are written as null
  Json(int value);
  Json(int64_t value);
  Json(uint64_t value);
  static Json array();
  static Json object();

  /// Parses a whole document (surrounding whitespace allowed, nothing else).
  static Json parse(std::string_view text);

  /// Compact text (no spaces), members in insertion order.
  std::string dump() const;

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  /// Typed access; each throws std::runtime_error naming the expected kind
  /// (or "not an integer", "out of range") when the value does not fit.
  bool asBool() const;
  double asDouble() const;
  int64_t asInt64() const;
  uint64_t asUint64() const;
  const std::string &asString() const;
  const std::vector<Json> &items() const;                           // array
  const std::vector<std::pair<std::string, Json>> &members() const; // object

  /// Object member lookup: nullptr when absent (or when not an object).
  const Json *find(std::string_view key) const;

  /// Building: set replaces an existing key (a linear search); add appends
  /// a key the caller knows is new (no search); push appends to an array.
  Json &set(std::string key, Json value);
  Json &add(std::string key, Json value);
  Json &push(Json value);

  /// The number's source text (as parsed or as written).
  const std::string &numberText() const;

private:
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  std::string text_; // String: the decoded value; Number: its text
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;

  friend class JsonParser;
};

/// Parses `text`, the contents of the file `path` (or the part of it that
/// `part` names, e.g. "header"), as a JSON object. Otherwise throws
/// ModelIoError "<path>: not valid JSON: at byte N: ..." or "<path>: is not
/// a JSON object" ("<path>: header is not valid JSON: ..." with a part).
Json parseJsonObject(std::string_view text, const std::string &path,
                     const std::string &part = "");

/// Appends `value` as a JSON string literal (with quotes) to `out`.
void appendJsonString(std::string &out, std::string_view value);

const char *jsonKindName(Json::Kind kind);

} // namespace off::model
