// The strict JSON reader (runtime/common/Json.h, nlohmann-json underneath)
// behind config.json, safetensors headers and trainer_state.json, and the
// no-throw check of JsonCheck.h that the compiler runs before llvm::json.
#include "runtime/common/Json.h"
#include "runtime/common/JsonCheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace off {
namespace {

std::string errorOf(const std::string &text) {
  try {
    parseJson(text);
  } catch (const JsonError &error) {
    return error.what();
  }
  return "";
}

TEST(Json, ParsesNestedDocumentInFileOrder) {
  Json doc = parseJson(R"( {"z": [1, -2.5e3, true, null], "b": {"c": "d"}, "a": 0} )");
  ASSERT_TRUE(doc.is_object());
  const Json &z = *jsonMember(doc, "z");
  ASSERT_EQ(z.size(), 4u);
  EXPECT_EQ(jsonInt64(z[0]), 1);
  EXPECT_EQ(z[1].get<double>(), -2500.0);
  EXPECT_TRUE(z[2].get<bool>());
  EXPECT_TRUE(z[3].is_null());
  EXPECT_EQ(jsonMember(*jsonMember(doc, "b"), "c")->get<std::string>(), "d");
  EXPECT_EQ(jsonMember(doc, "missing"), nullptr);
  EXPECT_EQ(jsonMember(z, "z"), nullptr); // not an object
  EXPECT_EQ(doc.dump(), R"({"z":[1,-2500.0,true,null],"b":{"c":"d"},"a":0})");
}

TEST(Json, SixtyFourBitIntegersAreExact) {
  // 2^53 + 1 is not a double; uint64 max and int64 min are the extremes.
  EXPECT_EQ(jsonUint64(parseJson("9007199254740993")), 9007199254740993ull);
  EXPECT_EQ(jsonUint64(parseJson("18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(jsonInt64(parseJson("-9223372036854775808")), INT64_MIN);
  EXPECT_EQ(jsonInt64(parseJson("18446744073709551615")), std::nullopt);
  EXPECT_EQ(jsonUint64(parseJson("18446744073709551616")), std::nullopt); // 2^64
  EXPECT_EQ(jsonUint64(parseJson("-1")), std::nullopt);
  EXPECT_EQ(jsonInt64(parseJson("1.5")), std::nullopt);
  EXPECT_EQ(jsonInt64(parseJson("1e3")), std::nullopt);
  EXPECT_EQ(jsonInt64(parseJson("\"1\"")), std::nullopt);
  EXPECT_EQ(Json(UINT64_MAX).dump(), "18446744073709551615");
}

TEST(Json, DecodesEscapesToUtf8) {
  // é = C3 A9, U+1F600 = F0 9F 98 80 (from the surrogate pair D83D DE00).
  Json value = parseJson(R"("a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00")");
  EXPECT_EQ(value.get<std::string>(), "a\"\\/\b\f\n\r\t\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(parseJson("\"\xC3\xA9\"").get<std::string>(), "\xC3\xA9"); // raw UTF-8 passes
}

TEST(Json, RejectsMalformedText) {
  const char *bad[] = {
      "",                  // nothing
      "{",                 // unterminated
      "{\"a\":1,}",        // trailing comma
      "[1,]",              // trailing comma
      "{\"a\":1,\"a\":2}", // duplicate key
      "{a:1}",             // unquoted key
      "\"abc",             // unterminated string
      "\"a\x01\"",         // control character
      "\"\\ud800\"",       // lone high surrogate
      "\"\\udc00\"",       // lone low surrogate
      "\"\\x\"",           // unknown escape
      "\"\\u12g4\"",       // bad hex
      "\"\xC0\x80\"",      // overlong UTF-8
      "\"\xED\xA0\x80\"",  // UTF-8 encoded surrogate
      "\"\xF0\x9F\x98\"",  // truncated UTF-8
      "\"\xFF\"",          // not UTF-8 at all
      "01",                // leading zero
      "1.",                // digits after '.'
      "-",                 // sign alone
      "1e",                // empty exponent
      "NaN",               // not JSON
      "tru",               // bad literal
      "{} x",              // trailing text
      "{}{}",              // two documents
      "// comment\n{}",    // comments
      "[1e400]",           // beyond a double
  };
  // A NUL byte: nlohmann's lexer alone would take it for the end of the text.
  const std::string nul("{} \0\x80", 5);
  EXPECT_EQ(errorOf(nul), "at byte 3: a NUL byte, which JSON text never holds");
  EXPECT_EQ(checkJson(nul), errorOf(nul));
  EXPECT_NE(errorOf(std::string("[\"a\0\"]", 6)), "");
  for (const char *text : bad) {
    EXPECT_THROW(parseJson(text), JsonError) << "accepted: " << text;
    EXPECT_NE(checkJson(text), "") << "check accepted: " << text;
    EXPECT_EQ(checkJson(text), errorOf(text)) << text;
  }
  EXPECT_EQ(checkJson(" {\"a\": [1, {\"b\": null}]}\n"), "");
}

TEST(Json, ErrorsSayWhereAndStayPrintable) {
  std::string error = errorOf("{\"a\": [1, 2,, 3]}");
  EXPECT_EQ(error.rfind("at byte 12: syntax error while parsing value", 0), 0u) << error;
  error = errorOf("[1, 2");
  EXPECT_EQ(error.rfind("at byte 5: ", 0), 0u) << error; // the end of the text
  // A byte that is not UTF-8 is shown escaped, never copied into the message.
  error = errorOf("[\"\xFF\"]");
  EXPECT_NE(error.find("\\xff"), std::string::npos) << error;
  for (char c : error)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << error;
}

TEST(Json, RefusesDuplicateKeysNamingThem) {
  EXPECT_EQ(errorOf(R"({"vocab_size": 256, "hidden_size": 64, "vocab_size": 300})"),
            "duplicate key 'vocab_size'");
  EXPECT_EQ(errorOf(R"({"a": {"x": 1, "x": 1}})"), "duplicate key 'x'");
  // The same key in two different objects is fine.
  EXPECT_EQ(errorOf(R"({"a": {"x": 1}, "b": {"x": 1}, "x": [{"x": 1}, {"x": 2}]})"), "");
}

TEST(Json, CapsNestingDepth) {
  std::string ok(kJsonMaxDepth, '['), deep(kJsonMaxDepth + 1, '[');
  ok += std::string(kJsonMaxDepth, ']');
  deep += std::string(kJsonMaxDepth + 1, ']');
  EXPECT_NO_THROW(parseJson(ok));
  EXPECT_EQ(errorOf(deep), "nesting deeper than 64 levels");
  // 50,000 levels (a hostile config.json): an error, not a stack overflow,
  // for arrays and objects, from the parser and from the check.
  std::string arrays = std::string(50000, '[') + std::string(50000, ']');
  std::string objects;
  for (int i = 0; i < 50000; ++i)
    objects += "{\"a\":";
  objects += "1" + std::string(50000, '}');
  for (const std::string &text : {arrays, objects}) {
    EXPECT_EQ(errorOf(text), "nesting deeper than 64 levels");
    EXPECT_EQ(checkJson(text), "nesting deeper than 64 levels");
  }
}

// Duplicate detection and building must not be quadratic: 200k keys (a
// hostile or huge safetensors header) parse quickly, in file order, and a
// duplicate at the end is found.
TEST(Json, ManyKeysParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i)
    text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  Json doc = parseJson(text + "}");
  ASSERT_EQ(doc.size(), 200000u);
  EXPECT_EQ(doc.items().begin().key(), "k0");
  EXPECT_EQ(jsonUint64(doc.back()), 199999u);
  EXPECT_EQ(errorOf(text + ",\"k17\":0}"), "duplicate key 'k17'");
}

TEST(Json, WritesCompactTextThatReadsBack) {
  Json doc = {{"list", {0.1, int64_t(-7), std::nan(""), false}},
              {"text", "tab\there \"q\" \x01"}};
  EXPECT_EQ(doc.dump(), R"({"list":[0.1,-7,null,false],"text":"tab\there \"q\" \u0001"})");
  EXPECT_EQ(parseJson(doc.dump()).dump(), doc.dump());
  // The shortest round-trip form: reading it back gives the same double.
  double value = 0.1 + 0.2;
  EXPECT_EQ(parseJson(Json(value).dump()).get<double>(), value);
  Json object;
  jsonAppend(object, "b", 1);
  jsonAppend(object, "a", "x");
  EXPECT_EQ(object.dump(), R"({"b":1,"a":"x"})");
}

TEST(Json, KindNames) {
  EXPECT_STREQ(jsonKindName(parseJson("null")), "null");
  EXPECT_STREQ(jsonKindName(parseJson("true")), "a boolean");
  EXPECT_STREQ(jsonKindName(parseJson("-1")), "a number");
  EXPECT_STREQ(jsonKindName(parseJson("1")), "a number");
  EXPECT_STREQ(jsonKindName(parseJson("1.5")), "a number");
  EXPECT_STREQ(jsonKindName(parseJson("\"s\"")), "a string");
  EXPECT_STREQ(jsonKindName(parseJson("[]")), "an array");
  EXPECT_STREQ(jsonKindName(parseJson("{}")), "an object");
}

} // namespace
} // namespace off
