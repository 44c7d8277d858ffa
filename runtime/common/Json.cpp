// See Json.h and JsonCheck.h. nlohmann's SAX parser (iterative, no
// recursion) drives StrictBuilder, which refuses duplicate keys and deep
// nesting as they come and builds the value itself: appending members
// straight to the ordered map, since ordered_json's own insertion searches
// the members first (quadratic in a header with many tensors) and lets a
// later duplicate replace an earlier one.

#include "runtime/common/Json.h"
#include "runtime/common/JsonCheck.h"

#include <limits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace off {
namespace {

class StrictBuilder {
public:
  /// `root` null: only check.
  explicit StrictBuilder(Json *root) : root_(root) {}

  const std::string &problem() const { return problem_; }

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool value) { return put(Json(value)); }
  bool number_integer(Json::number_integer_t value) { return put(Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return put(Json(value)); }
  bool number_float(Json::number_float_t value, const Json::string_t &) {
    return put(Json(value));
  }
  bool string(Json::string_t &value) { return put(Json(std::move(value))); }
  bool binary(Json::binary_t &) { return fail("binary values are not JSON"); }

  bool start_object(std::size_t) {
    if (!open(Json::object()))
      return false;
    keys_.emplace_back();
    return true;
  }
  bool key(Json::string_t &key) {
    if (!keys_.back().insert(key).second)
      return fail("duplicate key '" + printable(key) + "'");
    if (root_) {
      // Append without ordered_map's search; keys_ already proved it new.
      Json &object = *stack_.back();
      jsonAppend(object, std::move(key), Json());
      slot_ = &object.get_ref<Json::object_t &>().back().second;
    }
    return true;
  }
  bool end_object() {
    keys_.pop_back();
    return close();
  }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string &, const nlohmann::detail::exception &e) {
    // e.what(): "[json.exception.parse_error.101] parse error at line 1,
    // column 3: syntax error while parsing ..."; keep what follows the place.
    std::string what = e.what();
    size_t at = what.find("parse error");
    size_t colon = at == std::string::npos ? at : what.find(": ", at);
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    // `position` counts the bytes read, the offending one included.
    return fail("at byte " + std::to_string(position ? position - 1 : 0) + ": " +
                printable(detail));
  }

private:
  Json *root_;
  std::vector<Json *> stack_;                          // open containers (building)
  int depth_ = 0;                                      // open containers
  std::vector<std::unordered_set<std::string>> keys_;  // per open object
  Json *slot_ = nullptr;                               // where an object's next value goes
  std::string problem_;

  bool fail(std::string problem) {
    problem_ = std::move(problem);
    return false;
  }

  /// Messages stay printable ASCII whatever bytes the input held.
  static std::string printable(const std::string &text) {
    static const char *kHex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : text) {
      if (c >= 0x20 && c < 0x7f) {
        out += char(c);
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
    return out;
  }

  /// Places a complete value (or a new container) where the parser is.
  Json *place(Json value) {
    if (stack_.empty())
      return &(*root_ = std::move(value));
    Json &parent = *stack_.back();
    if (parent.is_array()) {
      parent.get_ref<Json::array_t &>().push_back(std::move(value));
      return &parent.get_ref<Json::array_t &>().back();
    }
    *slot_ = std::move(value);
    return slot_;
  }
  bool put(Json value) {
    if (root_)
      place(std::move(value));
    return true;
  }
  bool open(Json container) {
    if (depth_ >= kJsonMaxDepth)
      return fail("nesting deeper than " + std::to_string(kJsonMaxDepth) + " levels");
    ++depth_;
    if (root_)
      stack_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    --depth_;
    if (root_)
      stack_.pop_back();
    return true;
  }
};

/// Runs the SAX parser over the whole text; returns the problem or "".
std::string runStrict(std::string_view text, Json *root) {
  // nlohmann's lexer takes a NUL byte for the end of the input (so "{}\0x"
  // would pass); JSON never holds one raw, in a string or outside.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    return "at byte " + std::to_string(nul) + ": a NUL byte, which JSON text never holds";
  StrictBuilder builder(root);
  bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                            /*strict=*/true, /*ignore_comments=*/false);
  if (ok)
    return "";
  return builder.problem().empty() ? "not valid JSON" : builder.problem();
}

} // namespace

Json parseJson(std::string_view text) {
  Json root;
  if (std::string problem = runStrict(text, &root); !problem.empty())
    throw JsonError(problem);
  return root;
}

std::string checkJson(std::string_view text) {
  try {
    return runStrict(text, nullptr);
  } catch (const std::exception &e) { // e.g. out of memory
    return e.what();
  }
}

const char *jsonKindName(const Json &value) {
  switch (value.type()) {
  case Json::value_t::null: return "null";
  case Json::value_t::boolean: return "a boolean";
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned:
  case Json::value_t::number_float: return "a number";
  case Json::value_t::string: return "a string";
  case Json::value_t::array: return "an array";
  case Json::value_t::object: return "an object";
  default: return "not JSON";
  }
}

void jsonAppend(Json &object, std::string key, Json value) {
  if (object.is_null())
    object = Json::object();
  static_cast<std::vector<std::pair<const std::string, Json>> &>(
      object.get_ref<Json::object_t &>())
      .emplace_back(std::move(key), std::move(value));
}

const Json *jsonMember(const Json &object, std::string_view key) {
  if (!object.is_object())
    return nullptr;
  for (const auto &[name, value] : object.get_ref<const Json::object_t &>())
    if (name == key)
      return &value;
  return nullptr;
}

std::optional<uint64_t> jsonUint64(const Json &value) {
  if (value.is_number_unsigned())
    return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0)
    return uint64_t(value.get<int64_t>());
  return std::nullopt;
}

std::optional<int64_t> jsonInt64(const Json &value) {
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    return int64_t(u);
  }
  if (value.is_number_integer())
    return value.get<int64_t>();
  return std::nullopt;
}

} // namespace off
