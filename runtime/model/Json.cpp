#include "runtime/model/Json.h"
#include "runtime/model/ModelError.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

namespace off::model {

JsonError::JsonError(size_t offset, const std::string &problem)
    : std::runtime_error("at byte " + std::to_string(offset) + ": " + problem),
      offset(offset) {}

const char *jsonKindName(Json::Kind kind) {
  switch (kind) {
  case Json::Kind::Null: return "null";
  case Json::Kind::Bool: return "a boolean";
  case Json::Kind::Number: return "a number";
  case Json::Kind::String: return "a string";
  case Json::Kind::Array: return "an array";
  case Json::Kind::Object: return "an object";
  }
  return "?";
}

// ---------------------------------------------------------------- parser

class JsonParser {
public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  Json parseDocument() {
    skipSpace();
    Json value = parseValue(0);
    skipSpace();
    if (pos_ != text_.size())
      fail("unexpected text after the JSON value");
    return value;
  }

private:
  std::string_view text_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string &problem) const {
    throw JsonError(pos_, problem);
  }
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }

  void skipSpace() {
    while (!atEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                        text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  void expectWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      fail("invalid literal (expected '" + std::string(word) + "')");
    pos_ += word.size();
  }

  Json parseValue(int depth) {
    if (depth > Json::kMaxDepth)
      fail("nesting deeper than " + std::to_string(Json::kMaxDepth));
    if (atEnd())
      fail("unexpected end of text");
    char c = peek();
    switch (c) {
    case '{': return parseObject(depth);
    case '[': return parseArray(depth);
    case '"': return Json(parseString());
    case 't': expectWord("true"); return Json(true);
    case 'f': expectWord("false"); return Json(false);
    case 'n': expectWord("null"); return Json();
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return parseNumber();
      fail(std::string("unexpected character '") + c + "'");
    }
  }

  // The shared shape of objects and arrays: the opening bracket at pos_,
  // then elements separated by ',' up to `close`; each element is parsed by
  // `element` (called with pos_ at its first character).
  template <typename ParseElement>
  void parseSequence(char close, const char *container, ParseElement element) {
    ++pos_; // '{' or '['
    skipSpace();
    if (peek() == close) {
      ++pos_;
      return;
    }
    while (true) {
      skipSpace();
      element();
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == close) {
        ++pos_;
        return;
      }
      fail(std::string("expected ',' or '") + close + "' in " + container);
    }
  }

  Json parseObject(int depth) {
    Json object = Json::object();
    // A set, not a scan of the members: a hostile header with millions of
    // keys must not take quadratic time.
    std::unordered_set<std::string> keys;
    parseSequence('}', "an object", [&] {
      if (peek() != '"')
        fail("expected a string key");
      size_t keyOffset = pos_;
      std::string key = parseString();
      if (!keys.insert(key).second)
        throw JsonError(keyOffset, "duplicate key \"" + key + "\"");
      skipSpace();
      if (peek() != ':')
        fail("expected ':' after a key");
      ++pos_;
      skipSpace();
      object.members_.emplace_back(std::move(key), parseValue(depth + 1));
    });
    return object;
  }

  Json parseArray(int depth) {
    Json array = Json::array();
    parseSequence(']', "an array", [&] { array.items_.push_back(parseValue(depth + 1)); });
    return array;
  }

  Json parseNumber() {
    size_t start = pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (!atEnd() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      return pos_ - from;
    };
    if (peek() == '-')
      ++pos_;
    if (peek() == '0')
      ++pos_;
    else if (digits() == 0)
      fail("invalid number");
    if (peek() == '.') {
      ++pos_;
      if (digits() == 0)
        fail("invalid number: digits expected after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      if (digits() == 0)
        fail("invalid number: digits expected in the exponent");
    }
    Json number;
    number.kind_ = Json::Kind::Number;
    number.text_ = std::string(text_.substr(start, pos_ - start));
    return number;
  }

  uint32_t parseHex4() {
    if (pos_ + 4 > text_.size())
      fail("truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') value |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= uint32_t(c - 'A' + 10);
      else fail("invalid hex digit in a \\u escape");
    }
    return value;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xc0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += char(0xe0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3f));
      out += char(0x80 | (cp & 0x3f));
    } else {
      out += char(0xf0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3f));
      out += char(0x80 | ((cp >> 6) & 0x3f));
      out += char(0x80 | (cp & 0x3f));
    }
  }

  // Copies one raw UTF-8 sequence starting at pos_, validating it
  // (no overlong forms, no surrogates, nothing past U+10FFFF).
  void copyUtf8Sequence(std::string &out) {
    auto byte = [&](size_t i) { return uint8_t(text_[pos_ + i]); };
    uint8_t lead = byte(0);
    size_t length;
    uint32_t cp;
    if (lead >= 0xc2 && lead <= 0xdf) { length = 2; cp = lead & 0x1f; }
    else if (lead >= 0xe0 && lead <= 0xef) { length = 3; cp = lead & 0x0f; }
    else if (lead >= 0xf0 && lead <= 0xf4) { length = 4; cp = lead & 0x07; }
    else fail("invalid UTF-8 in a string");
    if (pos_ + length > text_.size())
      fail("truncated UTF-8 sequence in a string");
    for (size_t i = 1; i < length; ++i) {
      if ((byte(i) & 0xc0) != 0x80)
        fail("invalid UTF-8 in a string");
      cp = (cp << 6) | (byte(i) & 0x3f);
    }
    if ((length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      fail("invalid UTF-8 in a string");
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }

  std::string parseString() {
    ++pos_; // opening quote
    std::string out;
    while (true) {
      if (atEnd())
        fail("unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (uint8_t(c) < 0x20)
        fail("control character in a string");
      if (uint8_t(c) >= 0x80) {
        copyUtf8Sequence(out);
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (atEnd())
        fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = parseHex4();
        if (cp >= 0xdc00 && cp <= 0xdfff)
          fail("lone low surrogate in a \\u escape");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (text_.substr(pos_, 2) != "\\u")
            fail("high surrogate without its low half");
          pos_ += 2;
          uint32_t low = parseHex4();
          if (low < 0xdc00 || low > 0xdfff)
            fail("high surrogate without its low half");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }
};

Json Json::parse(std::string_view text) { return JsonParser(text).parseDocument(); }

Json parseJsonObject(std::string_view text, const std::string &path, const std::string &part) {
  Json value;
  try {
    value = Json::parse(text);
  } catch (const JsonError &error) {
    throwFileError(path, (part.empty() ? "" : part + " is ") + "not valid JSON: " + error.what());
  }
  if (!value.isObject())
    throwFileError(path, (part.empty() ? "" : part + " ") + "is not a JSON object");
  return value;
}

// ---------------------------------------------------------------- values

Json::Json(bool value) : kind_(Kind::Bool), bool_(value) {}
Json::Json(const char *value) : kind_(Kind::String), text_(value) {}
Json::Json(std::string value) : kind_(Kind::String), text_(std::move(value)) {}
Json::Json(std::string_view value) : kind_(Kind::String), text_(value) {}

Json::Json(double value) {
  if (!std::isfinite(value))
    return; // null: JSON has no NaN or infinity
  kind_ = Kind::Number;
  char buffer[64];
  // Shortest text that reads back as the same double.
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  text_.assign(buffer, result.ptr);
}

Json::Json(int value) : Json(int64_t(value)) {}
Json::Json(int64_t value) : kind_(Kind::Number), text_(std::to_string(value)) {}
Json::Json(uint64_t value) : kind_(Kind::Number), text_(std::to_string(value)) {}

Json Json::array() {
  Json value;
  value.kind_ = Kind::Array;
  return value;
}

Json Json::object() {
  Json value;
  value.kind_ = Kind::Object;
  return value;
}

namespace {
[[noreturn]] void wrongKind(const char *expected, Json::Kind found) {
  throw std::runtime_error(std::string("expected ") + expected + ", found " +
                           jsonKindName(found));
}
} // namespace

bool Json::asBool() const {
  if (kind_ != Kind::Bool)
    wrongKind("a boolean", kind_);
  return bool_;
}

double Json::asDouble() const {
  if (kind_ != Kind::Number)
    wrongKind("a number", kind_);
  double value = 0;
  auto result = std::from_chars(text_.data(), text_.data() + text_.size(), value);
  if (result.ec != std::errc() || result.ptr != text_.data() + text_.size())
    throw std::runtime_error("number " + text_ + " is out of range");
  return value;
}

namespace {
/// The whole of `text` as an integer of type T, or a message saying why not.
template <typename T> T parseInteger(const std::string &text) {
  T value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec == std::errc::result_out_of_range)
    throw std::runtime_error("integer " + text + " is out of range");
  if (result.ec != std::errc() || result.ptr != text.data() + text.size())
    throw std::runtime_error("expected an integer, found " + text);
  return value;
}
} // namespace

int64_t Json::asInt64() const {
  if (kind_ != Kind::Number)
    wrongKind("an integer", kind_);
  return parseInteger<int64_t>(text_);
}

uint64_t Json::asUint64() const {
  if (kind_ != Kind::Number)
    wrongKind("an integer", kind_);
  // from_chars would read "-1" as out of range; say what is wrong instead.
  if (!text_.empty() && text_[0] == '-')
    throw std::runtime_error("expected a non-negative integer, found " + text_);
  return parseInteger<uint64_t>(text_);
}

const std::string &Json::asString() const {
  if (kind_ != Kind::String)
    wrongKind("a string", kind_);
  return text_;
}

const std::string &Json::numberText() const {
  if (kind_ != Kind::Number)
    wrongKind("a number", kind_);
  return text_;
}

const std::vector<Json> &Json::items() const {
  if (kind_ != Kind::Array)
    wrongKind("an array", kind_);
  return items_;
}

const std::vector<std::pair<std::string, Json>> &Json::members() const {
  if (kind_ != Kind::Object)
    wrongKind("an object", kind_);
  return members_;
}

const Json *Json::find(std::string_view key) const {
  if (kind_ != Kind::Object)
    return nullptr;
  for (const auto &member : members_)
    if (member.first == key)
      return &member.second;
  return nullptr;
}

Json &Json::set(std::string key, Json value) {
  if (kind_ != Kind::Object)
    wrongKind("an object", kind_);
  for (auto &member : members_)
    if (member.first == key) {
      member.second = std::move(value);
      return *this;
    }
  members_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Json &Json::add(std::string key, Json value) {
  if (kind_ != Kind::Object)
    wrongKind("an object", kind_);
  members_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Json &Json::push(Json value) {
  if (kind_ != Kind::Array)
    wrongKind("an array", kind_);
  items_.push_back(std::move(value));
  return *this;
}

// ---------------------------------------------------------------- writer

void appendJsonString(std::string &out, std::string_view value) {
  static const char *kHex = "0123456789abcdef";
  out += '"';
  for (char c : value) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (uint8_t(c) < 0x20) {
        out += "\\u00";
        out += kHex[uint8_t(c) >> 4];
        out += kHex[uint8_t(c) & 0xf];
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

namespace {
void dumpTo(const Json &value, std::string &out);

/// `open`, each element written by `write` with ',' between them, `close`.
template <typename Range, typename Write>
void dumpSequence(const Range &elements, char open, char close, std::string &out, Write write) {
  out += open;
  bool first = true;
  for (const auto &element : elements) {
    if (!first)
      out += ',';
    first = false;
    write(element);
  }
  out += close;
}

void dumpTo(const Json &value, std::string &out) {
  switch (value.kind()) {
  case Json::Kind::Null: out += "null"; return;
  case Json::Kind::Bool: out += value.asBool() ? "true" : "false"; return;
  case Json::Kind::Number: out += value.numberText(); return;
  case Json::Kind::String: appendJsonString(out, value.asString()); return;
  case Json::Kind::Array:
    dumpSequence(value.items(), '[', ']', out, [&](const Json &item) { dumpTo(item, out); });
    return;
  case Json::Kind::Object:
    dumpSequence(value.members(), '{', '}', out, [&](const auto &member) {
      appendJsonString(out, member.first);
      out += ':';
      dumpTo(member.second, out);
    });
    return;
  }
}
} // namespace

std::string Json::dump() const {
  std::string out;
  dumpTo(*this, out);
  return out;
}

} // namespace off::model
