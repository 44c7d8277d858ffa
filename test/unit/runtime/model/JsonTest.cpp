// The strict JSON parser and writer behind safetensors headers and
// trainer_state.json.
#include "runtime/model/Json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace off::model {
namespace {

TEST(ModelJson, ParsesNestedDocument) {
  Json doc = Json::parse(R"( {"a": [1, -2.5e3, true, null], "b": {"c": "d"}} )");
  ASSERT_TRUE(doc.isObject());
  const Json &a = *doc.find("a");
  ASSERT_EQ(a.items().size(), 4u);
  EXPECT_EQ(a.items()[0].asInt64(), 1);
  EXPECT_EQ(a.items()[1].asDouble(), -2500.0);
  EXPECT_TRUE(a.items()[2].asBool());
  EXPECT_TRUE(a.items()[3].isNull());
  EXPECT_EQ(doc.find("b")->find("c")->asString(), "d");
  EXPECT_EQ(doc.find("missing"), nullptr);
  EXPECT_EQ(doc.members()[0].first, "a"); // insertion order kept
}

TEST(ModelJson, SixtyFourBitIntegersAreExact) {
  // 2^53 + 1 is not a double; uint64 max and int64 min are the extremes.
  EXPECT_EQ(Json::parse("9007199254740993").asUint64(), 9007199254740993ull);
  EXPECT_EQ(Json::parse("18446744073709551615").asUint64(), UINT64_MAX);
  EXPECT_EQ(Json::parse("-9223372036854775808").asInt64(), INT64_MIN);
  EXPECT_THROW(Json::parse("18446744073709551616").asUint64(), std::runtime_error);
  EXPECT_THROW(Json::parse("-1").asUint64(), std::runtime_error);
  EXPECT_THROW(Json::parse("1.5").asInt64(), std::runtime_error);
  EXPECT_THROW(Json::parse("1e3").asInt64(), std::runtime_error);
  EXPECT_EQ(Json(UINT64_MAX).dump(), "18446744073709551615");
}

TEST(ModelJson, DecodesEscapesToUtf8) {
  // é = C3 A9, U+1F600 = F0 9F 98 80 (from the surrogate pair D83D DE00).
  Json value = Json::parse(R"("a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00")");
  EXPECT_EQ(value.asString(), "a\"\\/\b\f\n\r\t\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(Json::parse("\"\xC3\xA9\"").asString(), "\xC3\xA9"); // raw UTF-8 passes
}

TEST(ModelJson, RejectsMalformedText) {
  const char *bad[] = {
      "",                       // nothing
      "{",                      // unterminated
      "{\"a\":1,}",             // trailing comma
      "[1,]",                   // trailing comma
      "{\"a\":1,\"a\":2}",      // duplicate key
      "{a:1}",                  // unquoted key
      "\"abc",                  // unterminated string
      "\"a\x01\"",              // control character
      "\"\\ud800\"",            // lone high surrogate
      "\"\\udc00\"",            // lone low surrogate
      "\"\\x\"",                // unknown escape
      "\"\\u12g4\"",            // bad hex
      "\"\xC0\x80\"",           // overlong UTF-8
      "\"\xED\xA0\x80\"",       // UTF-8 encoded surrogate
      "\"\xF0\x9F\x98\"",       // truncated UTF-8
      "01",                     // leading zero
      "1.",                     // digits after '.'
      "-",                      // sign alone
      "1e",                     // empty exponent
      "NaN",                    // not JSON
      "tru",                    // bad literal
      "{} x",                   // trailing text
      "// comment\n{}",         // comments
  };
  for (const char *text : bad)
    EXPECT_THROW(Json::parse(text), JsonError) << "accepted: " << text;
}

TEST(ModelJson, ErrorsSayWhere) {
  try {
    Json::parse("{\"a\": [1, 2,, 3]}");
    FAIL() << "accepted";
  } catch (const JsonError &error) {
    EXPECT_EQ(error.offset, 12u);
    EXPECT_NE(std::string(error.what()).find("at byte 12"), std::string::npos);
  }
}

TEST(ModelJson, CapsNestingDepth) {
  std::string ok(Json::kMaxDepth, '['), deep(Json::kMaxDepth + 2, '[');
  ok += std::string(Json::kMaxDepth, ']');
  deep += std::string(Json::kMaxDepth + 2, ']');
  EXPECT_NO_THROW(Json::parse(ok));
  EXPECT_THROW(Json::parse(deep), JsonError);
}

// Duplicate detection must not be quadratic: 200k keys (a hostile or huge
// safetensors header) parse quickly, and a duplicate at the end is found.
TEST(ModelJson, ManyKeysParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i)
    text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  EXPECT_EQ(Json::parse(text + "}").members().size(), 200000u);
  EXPECT_THROW(Json::parse(text + ",\"k17\":0}"), JsonError);
}

TEST(ModelJson, WritesCompactTextThatReadsBack) {
  Json doc = Json::object();
  Json list = Json::array();
  list.push(Json(0.1)).push(Json(int64_t(-7))).push(Json(std::nan(""))).push(Json(false));
  doc.set("list", std::move(list)).set("text", Json("tab\there \"q\" \x01"));
  EXPECT_EQ(doc.dump(), R"({"list":[0.1,-7,null,false],"text":"tab\there \"q\" \u0001"})");
  EXPECT_EQ(Json::parse(doc.dump()).dump(), doc.dump());
  // The shortest round-trip form: reading it back gives the same double.
  double value = 0.1 + 0.2;
  EXPECT_EQ(Json::parse(Json(value).dump()).asDouble(), value);
  doc.set("text", Json("replaced"));
  EXPECT_EQ(doc.find("text")->asString(), "replaced");
  EXPECT_EQ(doc.members().size(), 2u);
}

TEST(ModelJson, TypedAccessNamesTheMismatch) {
  try {
    Json::parse("\"x\"").asInt64();
    FAIL();
  } catch (const std::runtime_error &error) {
    EXPECT_STREQ(error.what(), "expected an integer, found a string");
  }
}

} // namespace
} // namespace off::model
