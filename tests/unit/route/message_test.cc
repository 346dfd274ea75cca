// The message view and its per-message context: source paths, property look-up, and when and how
// the body is decoded and parsed (content type, encodings, parsed at most once).
#include "common/route/message.h"

#include <optional>
#include <string>
#include <vector>

#include "common/route/condition.h"
#include "common/route/unicode.h"
#include "gtest/gtest.h"
#include "tests/unit/route/test_message.h"

namespace edge::route {
namespace {

using ::edge::route::testing::TestMessage;

std::string Utf16(const std::u16string& s, bool big_endian, bool bom) {
  std::string out;
  auto put = [&](char16_t u) {
    const char hi = static_cast<char>(u >> 8);
    const char lo = static_cast<char>(u & 0xFF);
    out += big_endian ? std::string{hi, lo} : std::string{lo, hi};
  };
  if (bom) put(0xFEFF);
  for (char16_t u : s) put(u);
  return out;
}

std::string Utf32(const std::u32string& s, bool big_endian, bool bom) {
  std::string out;
  auto put = [&](char32_t u) {
    for (int i = 0; i < 4; ++i) {
      const int shift = big_endian ? 24 - 8 * i : 8 * i;
      out.push_back(static_cast<char>((u >> shift) & 0xFF));
    }
  };
  if (bom) put(0xFEFF);
  for (char32_t u : s) put(u);
  return out;
}

TEST(SourcePathTest, DeviceTelemetryIsMessages) {
  EXPECT_EQ(SourcePath(MessageView{}), "/messages/");
}

TEST(SourcePathTest, ModuleOutputNamesModuleAndOutput) {
  MessageView m{.module_id = "sensor", .output_name = "out1"};
  EXPECT_EQ(SourcePath(m), "/messages/modules/sensor/outputs/out1/");
}

TEST(SourcePathTest, ModuleWithoutOutputStopsAtTheModule) {
  EXPECT_EQ(SourcePath(MessageView{.module_id = "sensor"}), "/messages/modules/sensor/");
}

TEST(SourcePathTest, TwinChangeNotification) {
  EXPECT_EQ(SourcePath(MessageView{.kind = SourceKind::kTwinChangeNotification}),
            "/twinChangeNotifications/");
}

TEST(FindPropertyTest, MatchesCaseInsensitively) {
  Property props[] = {{"Temp", "1"}};
  ASSERT_NE(FindProperty(props, "tEMP"), nullptr);
  EXPECT_EQ(FindProperty(props, "tEMP")->value, "1");
}

TEST(FindPropertyTest, ExactCaseWinsOverAnEarlierCaseInsensitiveMatch) {
  Property props[] = {{"A", "upper"}, {"a", "lower"}};
  EXPECT_EQ(FindProperty(props, "a")->value, "lower");
  EXPECT_EQ(FindProperty(props, "A")->value, "upper");
}

TEST(FindPropertyTest, WithoutAnExactMatchTheFirstWins) {
  Property props[] = {{"Ab", "first"}, {"aB", "second"}};
  EXPECT_EQ(FindProperty(props, "AB")->value, "first");
}

TEST(FindPropertyTest, MissingIsNull) {
  Property props[] = {{"a", "1"}};
  EXPECT_EQ(FindProperty(props, "b"), nullptr);
  EXPECT_EQ(FindProperty({}, "a"), nullptr);
}

TEST(MessageContextTest, ParsesTheBodyOnceForManyQueries) {
  TestMessage m = TestMessage().Json(R"({"a": 1, "b": 2})");
  MessageContext context(m.view());
  std::vector<Condition> conditions;
  for (const char* text : {"$body.a = 1", "$body.b = 2", "$body.c = null", "$body.a < $body.b"}) {
    conditions.push_back(*Condition::Compile(text));
  }
  for (int round = 0; round < 3; ++round) {
    for (const Condition& c : conditions) EXPECT_EQ(c.Evaluate(context), Verdict::kTrue);
  }
  EXPECT_EQ(context.body_parse_count(), 1);
}

TEST(MessageContextTest, NeverParsesWhenNoConditionQueriesTheBody) {
  TestMessage m = TestMessage().Json(R"({"a": 1})").App("x", "1");
  MessageContext context(m.view());
  EXPECT_EQ(Condition::Compile("x = '1'")->Evaluate(context), Verdict::kTrue);
  EXPECT_EQ(context.body_parse_count(), 0);
}

TEST(MessageContextTest, InvalidJsonIsParsedOnceAndReportedEveryTime) {
  TestMessage m = TestMessage().Json("{not json");
  MessageContext context(m.view());
  EXPECT_EQ(context.JsonBody(), nullptr);
  EXPECT_EQ(context.JsonBody(), nullptr);
  EXPECT_EQ(context.body_parse_count(), 1);
  EXPECT_NE(context.body_problem().find("not valid JSON"), absl::string_view::npos)
      << context.body_problem();
}

TEST(MessageContextTest, WrongContentTypeDoesNotParse) {
  TestMessage m = TestMessage().Sys("contentType", "text/plain").Sys("contentEncoding", "utf-8");
  m.Body(R"({"a": 1})");
  MessageContext context(m.view());
  EXPECT_EQ(context.JsonBody(), nullptr);
  EXPECT_EQ(context.body_parse_count(), 0);
  EXPECT_EQ(context.body_problem(),
            "contentType 'text/plain' is not application/json, so the body cannot be queried");
}

TEST(MessageContextTest, MissingContentTypeIsNamedAsTheProblem) {
  TestMessage m = TestMessage().Body(R"({"a": 1})");
  MessageContext context(m.view());
  EXPECT_EQ(context.JsonBody(), nullptr);
  EXPECT_EQ(context.body_problem(),
            "the message has no contentType; body queries need application/json");
}

TEST(MessageContextTest, TwinBodiesAreReadWithoutAContentType) {
  TestMessage m = TestMessage().TwinChange().Body(R"({"a": 1})");
  MessageContext context(m.view());
  ASSERT_NE(context.JsonBodyIgnoringContentType(), nullptr);
  EXPECT_EQ(context.JsonBody(), nullptr);  // $body still needs the content type
  EXPECT_EQ(context.body_parse_count(), 1);
}

TEST(MessageContextTest, SourcePathIsComputedFromTheView) {
  TestMessage m = TestMessage().FromModule("m", "o");
  MessageContext context(m.view());
  EXPECT_EQ(context.source_path(), "/messages/modules/m/outputs/o/");
}

// `$body.a` for a body {"a":1} under a content type and encoding; nullopt: not set.
struct EncodingCase {
  const char* name;
  std::optional<std::string> content_type;
  std::optional<std::string> content_encoding;
  std::string body;
  const char* expected;
};

void PrintTo(const EncodingCase& c, std::ostream* os) { *os << c.name; }

class BodyEncodingTest : public ::testing::TestWithParam<EncodingCase> {};

TEST_P(BodyEncodingTest, QueriesTheBodyOnlyWhenItCanBeRead) {
  const EncodingCase& c = GetParam();
  TestMessage m;
  if (c.content_type) m.Sys("contentType", *c.content_type);
  if (c.content_encoding) m.Sys("contentEncoding", *c.content_encoding);
  m.Body(c.body);
  MessageContext context(m.view());
  CompileOptions options;
  options.require_boolean = false;
  absl::StatusOr<Condition> condition = Condition::Compile("$body.a", options);
  ASSERT_TRUE(condition.ok());
  EXPECT_EQ(condition->EvaluateValue(context).DebugString(), c.expected);
  EXPECT_LE(context.body_parse_count(), 1);
}

const std::string kJson = R"({"a":1})";
const std::u16string kJson16 = u"{\"a\":1}";
const std::u32string kJson32 = U"{\"a\":1}";

INSTANTIATE_TEST_SUITE_P(
    ContentTypes, BodyEncodingTest,
    ::testing::ValuesIn(std::vector<EncodingCase>{
        {"Json", "application/json", "utf-8", kJson, "1"},
        {"UpperCase", "APPLICATION/JSON", "UTF-8", kJson, "1"},
        {"WithCharset", "application/json; charset=utf-8", "utf-8", kJson, "1"},
        {"Padded", " application/json ", " utf-8 ", kJson, "1"},
        {"TextPlain", "text/plain", "utf-8", kJson, "undefined"},
        {"JsonSuffix", "application/jsonx", "utf-8", kJson, "undefined"},
        {"VendorJson", "application/vnd.x+json", "utf-8", kJson, "undefined"},
        {"Empty", "", "utf-8", kJson, "undefined"},
        {"NoContentType", std::nullopt, "utf-8", kJson, "undefined"},
        {"NoEncoding", "application/json", std::nullopt, kJson, "undefined"},
        {"NeitherSet", std::nullopt, std::nullopt, kJson, "undefined"},
        {"Gzip", "application/json", "gzip", kJson, "undefined"},
        {"Ascii", "application/json", "ascii", kJson, "undefined"},
        {"Utf8WithoutHyphen", "application/json", "utf8", kJson, "undefined"},
        {"Utf8Bom", "application/json", "utf-8", "\xEF\xBB\xBF" + kJson, "1"},
        {"Utf16Le", "application/json", "utf-16", Utf16(kJson16, false, false), "1"},
        {"Utf16LeBom", "application/json", "utf-16", Utf16(kJson16, false, true), "1"},
        {"Utf16BeBom", "application/json", "utf-16", Utf16(kJson16, true, true), "1"},
        {"Utf16BeNamed", "application/json", "utf-16be", Utf16(kJson16, true, false), "1"},
        {"Utf16LeNamed", "application/json", "UTF-16LE", Utf16(kJson16, false, false), "1"},
        {"Utf16BeWithoutBomReadAsLe", "application/json", "utf-16", Utf16(kJson16, true, false),
         "undefined"},
        {"Utf16OddLength", "application/json", "utf-16", Utf16(kJson16, false, false) + "x",
         "undefined"},
        {"Utf16LoneSurrogate", "application/json", "utf-16",
         Utf16(u"{\"a\":\"\xD800\"}", false, false), "undefined"},
        {"Utf16SurrogatePair", "application/json", "utf-16",
         Utf16(u"{\"a\":\"\U0001F600\"}", false, false), "'\xf0\x9f\x98\x80'"},
        {"Utf32Le", "application/json", "utf-32", Utf32(kJson32, false, false), "1"},
        {"Utf32BeBom", "application/json", "utf-32", Utf32(kJson32, true, true), "1"},
        {"Utf32BeNamed", "application/json", "utf-32be", Utf32(kJson32, true, false), "1"},
        {"Utf32BadLength", "application/json", "utf-32", "abc", "undefined"},
        {"Utf32OutOfRange", "application/json", "utf-32", std::string("\x00\x00\x11\x00", 4),
         "undefined"},
        {"Utf8AsUtf16", "application/json", "utf-16", kJson, "undefined"},
        {"InvalidJson", "application/json", "utf-8", "{a:1}", "undefined"},
        {"EmptyBody", "application/json", "utf-8", "", "undefined"},
        {"TrailingGarbage", "application/json", "utf-8", kJson + " x", "undefined"},
        {"InvalidUtf8InString", "application/json", "utf-8", "{\"a\":\"\xff\"}", "undefined"},
        {"RootArray", "application/json", "utf-8", "[1,2]", "null"},
        {"RootNumber", "application/json", "utf-8", "5", "null"},
        {"RootNull", "application/json", "utf-8", "null", "null"},
        {"EscapedUnicode", "application/json", "utf-8", R"({"a":"\u00e9"})", "'\xc3\xa9'"},
        {"Nested", "application/json", "utf-8", R"({"a":{"b":1}})", "undefined"},
        {"ArrayValue", "application/json", "utf-8", R"({"a":[1]})", "undefined"},
        {"Whitespace", "application/json", "utf-8", " \n{ \"a\" : 1 }\n ", "1"},
        {"DuplicateKeys", "application/json", "utf-8", R"({"a":1,"a":2})", "2"},
    }),
    [](const ::testing::TestParamInfo<EncodingCase>& info) { return info.param.name; });

TEST(UnicodeTest, CodePointCountCountsInvalidBytesOneEach) {
  EXPECT_EQ(CodePointCount("h\xc3\xa9llo"), 5u);
  EXPECT_EQ(CodePointCount("\xff\xfe"), 2u);
  EXPECT_EQ(CodePointCount(""), 0u);
}

TEST(UnicodeTest, CodePointOffsetFindsStartsAndTheEnd) {
  EXPECT_EQ(CodePointOffset("h\xc3\xa9llo", 2), 3u);
  EXPECT_EQ(CodePointOffset("abc", 3), 3u);
  EXPECT_EQ(CodePointOffset("abc", 4), absl::string_view::npos);
}

TEST(UnicodeTest, AppendUtf8EncodesEveryLength) {
  std::string out;
  for (char32_t cp : {U'A', U'\u00e9', U'\u20ac', U'\U0001F600'}) AppendUtf8(cp, &out);
  EXPECT_EQ(out, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace edge::route
