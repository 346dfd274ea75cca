// Table-driven tests of the condition language: every case compiles one expression and checks its
// value against a standard message (or the exact compile error). Value::DebugString spells the
// expected value: 3, 'text', true, null, undefined.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/route/condition.h"
#include "gtest/gtest.h"
#include "tests/unit/route/test_message.h"

namespace edge::route {
namespace {

using ::edge::route::testing::TestMessage;

enum class Fixture { kStandard, kShadowing };

struct Case {
  const char* expression;
  // The value's DebugString, or "error: " followed by text the compile error must contain.
  const char* expected;
  Fixture fixture = Fixture::kStandard;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.expression << "  =>  " << c.expected; }

// Properties of every kind the language can reach, and a body with every JSON type.
TestMessage StandardMessage() {
  TestMessage m;
  m.App("temp", "35").App("alert", "true").App("name", "Sensor-1").App("empty", "");
  m.Sys("messageId", "mid-1")
      .Sys("correlationId", "cid-1")
      .Sys("userId", "user-1")
      .Sys("to", "/devices/dev1/messages/events")
      .Sys("connectionDeviceId", "dev1")
      .Sys("connectionModuleId", "mod1")
      .Sys("connectionAuthMethod", R"({"scope":"module","type":"sas"})")
      .Sys("enqueuedTime", "2024-01-01T00:00:00.000Z")
      .Sys("messageSchema", "schema-1")
      .Sys("creationTime", "2023-12-31T23:59:59.000Z")
      .Sys("outputName", "out1")
      .Sys("inputName", "in1")
      .Sys("edgeHubOriginInterface", "hub-interface");
  m.Json(R"({"num": 35, "neg": -2.5, "zero": 0, "str": "hello", "empty": "", "t": true,
             "f": false, "nul": null, "obj": {"a": 1, "b": {"c": "deep"}},
             "arr": [1, "two", {"x": 3}, [4, 5]], "big": 1e300, "uni": "h\u00e9llo",
             "Key": "upper", "a-b": "dash", "sp ace": "space", "$meta": "dollar",
             "int": 9007199254740993})");
  m.FromModule("mod1", "out1");
  return m;
}

// Application properties that shadow system properties and body queries, and names that differ
// only in case.
TestMessage ShadowingMessage() {
  TestMessage m;
  m.App("$messageId", "from-app")
      .App("$body.num", "app-body")
      .App("Dup", "upper")
      .App("dup", "lower");
  m.Sys("messageId", "mid-1");
  m.Json(R"({"num": 1})");
  return m;
}

std::string Evaluate(const Case& c) {
  CompileOptions options;
  options.require_boolean = false;
  absl::StatusOr<Condition> condition = Condition::Compile(c.expression, options);
  if (!condition.ok()) {
    EXPECT_EQ(condition.status().code(), absl::StatusCode::kInvalidArgument);
    return "error: " + std::string(condition.status().message());
  }
  TestMessage message = c.fixture == Fixture::kStandard ? StandardMessage() : ShadowingMessage();
  MessageContext context(message.view());
  return condition->EvaluateValue(context).DebugString();
}

class ExpressionTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExpressionTest, EvaluatesAsExpected) {
  const Case& c = GetParam();
  const std::string actual = Evaluate(c);
  const std::string expected = c.expected;
  if (absl::StartsWith(expected, "error: ")) {
    EXPECT_TRUE(absl::StartsWith(actual, "error: ")) << actual;
    EXPECT_TRUE(absl::StrContains(actual, expected.substr(7))) << actual;
  } else {
    EXPECT_EQ(actual, expected);
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = std::to_string(info.index) + "_";
  for (const char* p = info.param.expression; *p != '\0' && name.size() < 48; ++p) {
    const char ch = *p;
    const bool alnum =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    name.push_back(alnum ? ch : '_');
  }
  return name;
}

#define EDGE_ROUTE_CASES(suite, ...)              \
  INSTANTIATE_TEST_SUITE_P(suite, ExpressionTest, \
                           ::testing::ValuesIn(std::vector<Case>{__VA_ARGS__}), CaseName)

EDGE_ROUTE_CASES(Literals, {"1", "1"}, {"1.5", "1.5"}, {".5", "0.5"}, {"1e3", "1000"},
                 {"1E3", "1000"}, {"1e+3", "1000"}, {"2.5e-3", "0.0025"}, {"0x10", "16"},
                 {"0XfF", "255"}, {"0x0", "0"}, {"0xFFFFFFFF", "4.29497e+09"}, {"'a'", "'a'"},
                 {"\"a\"", "'a'"}, {"''", "''"}, {"\"\"", "''"}, {R"('it\'s')", R"('it\'s')"},
                 {R"("say \"hi\"")", "'say \"hi\"'"}, {R"('a\"b')", "'a\"b'"},
                 {R"("a'b")", R"('a\'b')"}, {R"('back\\slash')", R"('back\\slash')"},
                 {R"('\u0041')", "'A'"}, {R"('\U0041')", "'A'"}, {R"('\u00e9')", "'\xc3\xa9'"},
                 {R"('\u20AC')", "'\xe2\x82\xac'"}, {R"('\uD83D\uDE00')", "'\xf0\x9f\x98\x80'"},
                 {"'multi\nline'", "'multi\nline'"}, {"'\xc3\xa9t\xc3\xa9'", "'\xc3\xa9t\xc3\xa9'"},
                 {"true", "true"}, {"false", "false"}, {"TRUE", "true"}, {"False", "false"},
                 {"null", "null"}, {"NULL", "null"}, {"undefined", "undefined"},
                 {"Undefined", "undefined"}, {"/* c */ 1", "1"}, {"1 /* c */ + /**/ 2", "3"},
                 {"/* multi\nline */ true", "true"}, {"1/*no space*/+2", "3"}, {"-1", "-1"},
                 {"- 1", "-1"}, {"--1", "1"}, {"-0x10", "-16"}, {"1e308 * 10", "undefined"},
                 {"0.1 + 0.2 = 0.3", "false"}, {"  \t\r\n true \n", "true"},
                 {"1e-400", "error: out of range"});

EDGE_ROUTE_CASES(
    LexicalErrors, {"'abc", "error: unterminated string at 1:1"},
    {"\"abc'", "error: unterminated string"}, {R"('\n')", "error: unknown escape \\'n' at 1:2"},
    {R"('\x41')", "error: unknown escape"},
    {R"('\u12')", "error: expected four hex digits after \\u"},
    {R"('\uD83D')", "error: unpaired high surrogate"},
    {R"('\uD83D\u0041')", "error: unpaired high surrogate"},
    {R"('\uDE00')", "error: unpaired low surrogate"},
    {"1.", "error: expected a digit after the decimal point"},
    {"1.e3", "error: expected a digit after the decimal point"},
    {"1e", "error: expected digits in the exponent"},
    {"1e+", "error: expected digits in the exponent"},
    {"0x", "error: expected hex digits after '0x'"},
    {"0x1FFFFFFFFFFFFFFFF", "error: hex number too large"},
    {"12abc", "error: malformed number '12abc'"}, {"1.2.3", "error: malformed number"},
    {"0x1G", "error: malformed number"}, {"1e999", "error: number out of range"},
    {"/* never closed", "error: unterminated comment at 1:1"},
    {"true /* x", "error: unterminated comment at 1:6"},
    {"#", "error: unexpected character '#' at 1:1"}, {"a @ b", "error: unexpected character '@'"},
    {"a == b", "error: '==' is not an operator at 1:3; use '=' to compare"},
    {"a & b", "error: use AND"}, {"a && b", "error: use AND"},
    {"a | b", "error: '|' is not an operator"}, {"a ! b", "error: use NOT"},
    {"a ? b", "error: '?' is not an operator"}, {"a . b", "error: unexpected character '.'"},
    {"\x01", "error: unexpected character byte 0x01"},
    {"$", "error: expected a name after '$' at 1:1"}, {"$ x", "error: expected a name after '$'"},
    {"$body.", "error: expected a name after '.' in a path at 1:6"},
    {"$body.a[", "error: expected an index or a quoted name after '['"},
    {"$body.a[1", "error: expected ']' in a path"},
    {"$body.a[x]", "error: expected an index or a quoted name"},
    {"$body.a[-1]", "error: expected an index or a quoted name"},
    {"$body.a['x", "error: unterminated string"});

EDGE_ROUTE_CASES(SyntaxErrors, {"", "error: expected an expression, found end of input at 1:1"},
                 {"   ", "error: expected an expression, found end of input at 1:4"},
                 {"/* only a comment */", "error: expected an expression"},
                 {"(1", "error: expected ')' to close the '(' at 1:1, found end of input at 1:3"},
                 {"((true)", "error: expected ')'"},
                 {"1)", "error: unexpected ')' after the condition at 1:2"},
                 {"true AND", "error: expected an expression, found end of input"},
                 {"AND true", "error: expected an expression, found 'AND' at 1:1"},
                 {"true OR OR false", "error: found 'OR'"},
                 {"1 +", "error: expected an expression"},
                 {"* 2", "error: expected an expression, found '*'"},
                 {"1 2", "error: unexpected number 2 after the condition at 1:3"},
                 {"temp temp", "error: unexpected 'temp' after the condition"},
                 {"true NOT false", "error: unexpected 'NOT'"},
                 {"NOT", "error: expected an expression"},
                 {"abs(", "error: expected an expression, found end of input"},
                 {"abs(1", "error: expected ',' or ')' in the call of abs"},
                 {"abs(1,)", "error: expected an expression, found ')'"},
                 {"abs(,1)", "error: expected an expression, found ','"},
                 {"concat('a' 'b')", "error: expected ',' or ')'"},
                 {"{temp}", "error: expected a $name inside '{ }', found 'temp'"},
                 {"{$messageId", "error: expected '}' after {$messageId, found end of input"},
                 {"{}", "error: expected a $name inside"}, {"}", "error: expected an expression"},
                 {"$a.b = 'x'", "error: '$a' has a path, but only $body does at 1:1"},
                 {"$messageId[0]", "error: only $body does"}, {"{$a.b}", "error: only $body does"},
                 {"FROM", "error: found 'FROM'"}, {"x = INTO", "error: found 'INTO'"},
                 {"where", "error: found 'where'"},
                 {"twin_change_includes(1, 2)", "error: twin_change_includes is only valid"});

EDGE_ROUTE_CASES(Precedence, {"1 + 2 * 3", "7"}, {"(1 + 2) * 3", "9"}, {"2 * 3 + 1", "7"},
                 {"10 - 4 - 3", "3"}, {"100 / 10 / 5", "2"}, {"2 * 3 % 4", "2"}, {"7 % 4 * 2", "6"},
                 {"2 - 3 + 4", "3"}, {"-2 * 3", "-6"}, {"- 2 + 3", "1"}, {"-(2 + 3)", "-5"},
                 {"-2 - -2", "0"}, {"10 % 3", "1"}, {"-7 % 3", "-1"}, {"7.5 % 2", "1.5"},
                 {"1 / 4", "0.25"}, {"'a' || 'b' || 'c'", "'abc'"}, {"'a' || 'b' = 'ab'", "true"},
                 {"1 + 1 = 2", "true"}, {"1 + 2 > 2", "true"}, {"1 < 2 = true", "true"},
                 {"1 = 1 = true", "true"}, {"1 = 2 = false", "true"}, {"2 > 1 AND 1 > 2", "false"},
                 {"true OR false AND false", "true"}, {"(true OR false) AND false", "false"},
                 {"false AND false OR true", "true"}, {"false AND (false OR true)", "false"},
                 {"NOT true OR true", "true"}, {"NOT (true OR true)", "false"},
                 {"NOT NOT true", "true"}, {"NOT false AND false", "false"},
                 {"NOT 1 = 1", "error: NOT needs a boolean"}, {"undefined ?? 1 + 2", "3"},
                 {"undefined ?? 2 = 2", "true"}, {"undefined ?? false OR true", "true"},
                 {"false ?? true", "false"}, {"undefined ?? undefined ?? 3", "3"},
                 {"1 ?? 2 = 2", "error: needs one type"},
                 {"1 < 2 < 3", "error: cannot compare a boolean with a number using '<'"},
                 {"3 > 2 > 1", "error: cannot compare a boolean with a number"}, {"- - - 1", "-1"},
                 {"(((((1)))))", "1"}, {"-abs(-2)", "-2"}, {"2 * -3", "-6"}, {"1 - -1", "2"},
                 {"'x' || lower('Y') = 'xy'", "true"});

EDGE_ROUTE_CASES(Comparisons, {"'b' > 'a'", "true"}, {"'B' < 'a'", "true"},
                 {"'abc' < 'abd'", "true"}, {"'abc' < 'ab'", "false"}, {"'' < 'a'", "true"},
                 {"'\xc3\xa9' > 'z'", "true"}, {"'a' = 'A'", "false"}, {"'a' != 'A'", "true"},
                 {"'a' <> 'a'", "false"}, {"true > false", "true"}, {"false < true", "true"},
                 {"true = true", "true"}, {"true >= true", "true"}, {"false != true", "true"},
                 {"null = null", "true"}, {"null != null", "false"}, {"null < null", "false"},
                 {"null <= null", "true"}, {"null >= null", "true"}, {"null > null", "false"},
                 {"null <> null", "false"}, {"1 <> 2", "true"}, {"1 != 1", "false"},
                 {"1 >= 1", "true"}, {"1 <= 0", "false"}, {"-1 < 0", "true"}, {"0 = -0", "true"},
                 {"1e3 = 1000", "true"}, {"0x10 = 16", "true"}, {"null = 1", "undefined"},
                 {"1 = null", "undefined"}, {"null = 'a'", "undefined"},
                 {"null = false", "undefined"}, {"temp = null", "undefined"},
                 {"undefined = undefined", "undefined"}, {"undefined = 1", "undefined"},
                 {"'a' = undefined", "undefined"}, {"undefined <> undefined", "undefined"},
                 {"temp = '35'", "true"}, {"temp = '35.0'", "false"}, {"temp > '4'", "false"},
                 {"as_number(temp) > 4", "true"}, {"$enqueuedTime > '2023'", "true"},
                 {"$enqueuedTime < $creationTime", "false"});

EDGE_ROUTE_CASES(Logic, {"true AND true", "true"}, {"true AND false", "false"},
                 {"false AND true", "false"}, {"false OR false", "false"},
                 {"true OR false", "true"}, {"NOT true", "false"}, {"NOT false", "true"},
                 {"null AND false", "false"}, {"false AND null", "false"}, {"null OR true", "true"},
                 {"true OR null", "true"}, {"null AND true", "undefined"},
                 {"null OR false", "undefined"}, {"NOT null", "undefined"},
                 {"null AND null", "undefined"}, {"undefined AND false", "false"},
                 {"false AND undefined", "false"}, {"undefined OR true", "true"},
                 {"true OR undefined", "true"}, {"undefined AND true", "undefined"},
                 {"true AND undefined", "undefined"}, {"undefined OR false", "undefined"},
                 {"false OR undefined", "undefined"}, {"undefined AND undefined", "undefined"},
                 {"undefined OR undefined", "undefined"}, {"NOT undefined", "undefined"},
                 {"true and true", "true"}, {"false oR true", "true"}, {"not false", "true"},
                 {"nOt false", "true"});

EDGE_ROUTE_CASES(
    UndefinedPropagation, {"nope", "undefined"}, {"nope = 'a'", "undefined"},
    {"nope != 'a'", "undefined"}, {"nope <> 'a'", "undefined"}, {"nope < 'a'", "undefined"},
    {"nope <= 'a'", "undefined"}, {"nope > 'a'", "undefined"}, {"nope >= 'a'", "undefined"},
    {"'a' = nope", "undefined"}, {"nope = nope", "undefined"}, {"nope || 'a'", "undefined"},
    {"'a' || nope", "undefined"}, {"as_number(nope) + 1", "undefined"},
    {"1 - as_number(nope)", "undefined"}, {"as_number(nope) * 2", "undefined"},
    {"2 / as_number(nope)", "undefined"}, {"as_number(nope) % 2", "undefined"},
    {"-as_number(nope)", "undefined"}, {"NOT (nope = 'a')", "undefined"},
    {"nope = 'a' AND true", "undefined"}, {"nope = 'a' AND false", "false"},
    {"false AND nope = 'a'", "false"}, {"nope = 'a' OR true", "true"},
    {"true OR nope = 'a'", "true"}, {"nope = 'a' OR false", "undefined"},
    {"(nope = 'a') = true", "undefined"}, {"nope ?? 'x'", "'x'"}, {"nope ?? nope", "undefined"},
    {"concat(nope, 'a')", "undefined"}, {"concat('a', 'b', nope)", "undefined"},
    {"length(nope)", "undefined"}, {"lower(nope)", "undefined"}, {"upper(nope)", "undefined"},
    {"substring(nope, 0)", "undefined"}, {"substring('abc', as_number(nope))", "undefined"},
    {"substring('abc', 0, as_number(nope))", "undefined"}, {"index_of(nope, 'a')", "undefined"},
    {"index_of('a', nope)", "undefined"}, {"starts_with(nope, 'a')", "undefined"},
    {"ends_with('a', nope)", "undefined"}, {"contains(nope, 'a')", "undefined"},
    {"abs(as_number(nope))", "undefined"}, {"exp(as_number(nope))", "undefined"},
    {"power(2, as_number(nope))", "undefined"}, {"square(as_number(nope))", "undefined"},
    {"ceiling(as_number(nope))", "undefined"}, {"floor(as_number(nope))", "undefined"},
    {"sign(as_number(nope))", "undefined"}, {"sqrt(as_number(nope))", "undefined"},
    {"as_number(nope)", "undefined"}, {"is_defined(nope)", "false"}, {"is_string(nope)", "false"},
    {"is_null(nope)", "false"}, {"is_bool(nope)", "false"}, {"is_number(nope)", "false"},
    {"is_primitive(nope)", "false"}, {"is_object(nope)", "false"}, {"is_array(nope)", "false"},
    {"-undefined", "undefined"}, {"undefined + 1", "undefined"}, {"undefined || 'a'", "undefined"},
    {"abs(undefined)", "undefined"}, {"concat(undefined, 'a')", "undefined"},
    {"$nope = 'a'", "undefined"}, {"{$nope} = 'a'", "undefined"}, {"{$temp}", "undefined"},
    {"$body.nope = 1", "undefined"}, {"$body.nope = null", "true"}, {"messageId", "undefined"});

EDGE_ROUTE_CASES(TypeErrors,
                 {"temp > 30",
                  "error: 'temp' is a string property compared with a number at 1:6; "
                  "use as_number(temp)"},
                 {"30 < temp", "error: 'temp' is a string property compared with a number at 1:4"},
                 {"temp = 30", "error: use as_number(temp)"},
                 {"temp <> 30", "error: compared with a number"},
                 {"$messageId = 5",
                  "error: '$messageId' is a string property compared with a "
                  "number at 1:12; use as_number($messageId)"},
                 {"{$messageId} = 5", "error: '{$messageId}' is a string property"},
                 {"temp > -1", "error: compared with a number"},
                 {"temp > abs(1)", "error: compared with a number"},
                 {"'a' = 1", "error: cannot compare a string with a number using '='"},
                 {"true = 1", "error: cannot compare a boolean with a number"},
                 {"true = 'true'", "error: cannot compare a boolean with a string"},
                 {"alert = true",
                  "error: cannot compare the string property 'alert' with a boolean"},
                 {"length('a') = '1'", "error: cannot compare a number with a string"},
                 {"is_null(1) = 1", "error: cannot compare a boolean with a number"},
                 {"-'a'", "error: '-' needs a number, not a string"},
                 {"-temp",
                  "error: 'temp' is a string property negated with '-' at 1:1; "
                  "use -as_number(temp)"},
                 {"-true", "error: '-' needs a number, not a boolean"},
                 {"-null", "error: '-' needs a number, not null"},
                 {"NOT temp",
                  "error: NOT needs a boolean, not the string property 'temp' at 1:1; "
                  "NOT binds tighter than comparisons"},
                 {"NOT 1", "error: NOT needs a boolean, not a number"},
                 {"NOT 'a'", "error: NOT needs a boolean"},
                 {"1 AND true", "error: AND needs booleans, not a number"},
                 {"temp AND true",
                  "error: AND needs booleans, not the string property 'temp' at "
                  "1:6; compare it, e.g. temp = 'true'"},
                 {"true OR 'a'", "error: OR needs booleans, not a string"},
                 {"'a' + 'b'", "error: '+' needs numbers, not a string at 1:5; use || or concat()"},
                 {"temp + 1", "error: 'temp' is a string property used in arithmetic ('+')"},
                 {"1 * temp", "error: used in arithmetic ('*') at 1:3; use as_number(temp)"},
                 {"true + 1", "error: '+' needs numbers, not a boolean"},
                 {"null + 1", "error: '+' needs numbers, not null"},
                 {"1 - 'a'", "error: '-' needs numbers, not a string"},
                 {"1 || 'a'", "error: '||' joins strings, not a number at 1:3; use OR for logic"},
                 {"true || false", "error: '||' joins strings, not a boolean"},
                 {"null || 'a'", "error: '||' joins strings, not null"},
                 {"temp ?? 1",
                  "error: needs one type on both sides, not the string property "
                  "'temp' and a number"},
                 {"true ?? 'a'", "error: needs one type"});

EDGE_ROUTE_CASES(
    FunctionSignatures,
    {"abs('a')", "error: abs needs a number as argument 1, not a string at 1:5"},
    {"abs(temp)",
     "error: abs needs a number as argument 1, not the string property "
     "'temp' at 1:5; use as_number(temp)"},
    {"abs(true)", "error: abs needs a number as argument 1, not a boolean"},
    {"abs(null)", "error: abs needs a number as argument 1, not null"},
    {"abs()", "error: abs takes 1 argument, got 0 at 1:1"},
    {"abs(1, 2)", "error: abs takes 1 argument, got 2"}, {"exp('1')", "error: exp needs a number"},
    {"exp()", "error: exp takes 1 argument"}, {"power(1)", "error: power takes 2 arguments, got 1"},
    {"power(1, 2, 3)", "error: power takes 2 arguments, got 3"},
    {"power('2', 1)", "error: power needs a number as argument 1"},
    {"power(2, '1')", "error: power needs a number as argument 2"},
    {"square()", "error: square takes 1 argument"}, {"square('a')", "error: square needs a number"},
    {"ceiling('a')", "error: ceiling needs a number"},
    {"ceiling(1, 2)", "error: ceiling takes 1 argument"},
    {"floor(true)", "error: floor needs a number"}, {"floor()", "error: takes 1"},
    {"sign('a')", "error: sign needs a number"}, {"sign()", "error: takes 1"},
    {"sqrt()", "error: sqrt takes 1 argument, got 0"}, {"sqrt('4')", "error: sqrt needs a number"},
    {"as_number(true)",
     "error: as_number needs a string or a number as argument 1, "
     "not a boolean"},
    {"as_number(null)", "error: as_number needs a string or a number"},
    {"as_number()", "error: as_number takes 1 argument, got 0"},
    {"as_number('1', '2')", "error: as_number takes 1 argument, got 2"},
    {"is_bool()", "error: is_bool takes 1 argument"},
    {"is_defined()", "error: is_defined takes 1 argument, got 0"},
    {"is_defined(1, 2)", "error: is_defined takes 1 argument, got 2"},
    {"is_null()", "error: is_null takes 1"}, {"is_number(1, 1)", "error: takes 1"},
    {"is_string()", "error: is_string takes 1"}, {"is_array()", "error: is_array takes 1"},
    {"is_object(1, 2)", "error: is_object takes 1"},
    {"is_primitive()", "error: is_primitive takes 1"},
    {"concat('a')", "error: concat takes at least 2 arguments, got 1"},
    {"concat()", "error: concat takes at least 2 arguments, got 0"},
    {"concat('a', 1)", "error: concat needs a string as argument 2, not a number"},
    {"concat('a', 'b', 3)", "error: concat needs a string as argument 3"},
    {"concat(true, 'b')", "error: concat needs a string as argument 1"},
    {"length(1)", "error: length needs a string as argument 1, not a number"},
    {"length()", "error: length takes 1 argument"},
    {"length('a', 'b')", "error: length takes 1 argument, got 2"},
    {"lower(1)", "error: lower needs a string"}, {"lower()", "error: lower takes 1"},
    {"upper(true)", "error: upper needs a string"}, {"upper('a', 'b')", "error: upper takes 1"},
    {"substring('a')", "error: substring takes 2 or 3 arguments, got 1"},
    {"substring('a', 1, 2, 3)", "error: substring takes 2 or 3 arguments, got 4"},
    {"substring('a', '1')", "error: substring needs a number as argument 2"},
    {"substring('a', 0, '1')", "error: substring needs a number as argument 3"},
    {"substring(1, 1)", "error: substring needs a string as argument 1"},
    {"substring(temp, temp)",
     "error: substring needs a number as argument 2, not "
     "the string property 'temp'"},
    {"index_of('a', 1)", "error: index_of needs a string as argument 2"},
    {"index_of('a')", "error: index_of takes 2 arguments, got 1"},
    {"starts_with(1, 'a')", "error: starts_with needs a string as argument 1"},
    {"starts_with('a')", "error: starts_with takes 2"},
    {"ends_with('a')", "error: ends_with takes 2 arguments, got 1"},
    {"ends_with('a', null)", "error: ends_with needs a string as argument 2, not null"},
    {"contains('a', 'b', 'c')", "error: contains takes 2 arguments, got 3"},
    {"contains(1, 'b')", "error: contains needs a string"},
    {"no_such_function(1)", "error: unknown function 'no_such_function' at 1:1"},
    {"abs(-1) AND nope(1)", "error: unknown function 'nope' at 1:13"},
    {"twin_change_includes(properties.reported.x)",
     "error: twin_change_includes is only valid in routes FROM "
     "/twinChangeNotifications at 1:1"},
    {"ABS(-1)", "1"}, {"Is_Defined(temp)", "true"}, {"LENGTH('ab')", "2"},
    {"Concat('a', 'b')", "'ab'"}, {"abs(undefined)", "undefined"},
    {"length(undefined)", "undefined"}, {"is_string(undefined)", "false"});

EDGE_ROUTE_CASES(MathFunctions, {"abs(-3)", "3"}, {"abs(3)", "3"}, {"abs(-0.5)", "0.5"},
                 {"abs(0)", "0"}, {"exp(0)", "1"}, {"exp(1) > 2.718 AND exp(1) < 2.719", "true"},
                 {"exp(1000)", "undefined"}, {"exp(-1000)", "0"}, {"power(2, 10)", "1024"},
                 {"power(2, -1)", "0.5"}, {"power(0, 0)", "1"}, {"power(9, 0.5)", "3"},
                 {"power(-8, 1 / 3)", "undefined"}, {"power(10, 400)", "undefined"},
                 {"square(3)", "9"}, {"square(-1.5)", "2.25"}, {"square(1e200)", "undefined"},
                 {"ceiling(1.2)", "2"}, {"ceiling(-1.2)", "-1"}, {"ceiling(2)", "2"},
                 {"floor(1.8)", "1"}, {"floor(-1.2)", "-2"}, {"floor(2)", "2"}, {"sign(-5)", "-1"},
                 {"sign(0)", "0"}, {"sign(3.2)", "1"}, {"sign(-0)", "0"}, {"sqrt(16)", "4"},
                 {"sqrt(2) > 1.414", "true"}, {"sqrt(-1)", "undefined"}, {"sqrt(0)", "0"},
                 {"1 / 0", "undefined"}, {"0 / 0", "undefined"}, {"1 % 0", "undefined"},
                 {"abs($body.neg)", "2.5"}, {"abs($body.str)", "undefined"},
                 {"sqrt($body.num - 10)", "5"}, {"floor(as_number(temp) / 10)", "3"});

EDGE_ROUTE_CASES(
    TypeFunctions, {"as_number('35')", "35"}, {"as_number(' 35 ')", "35"},
    {"as_number('-1.5e2')", "-150"}, {"as_number('+4')", "4"}, {"as_number('.5')", "0.5"},
    {"as_number('-.5')", "-0.5"}, {"as_number('abc')", "undefined"}, {"as_number('')", "undefined"},
    {"as_number(' ')", "undefined"}, {"as_number('0x10')", "undefined"},
    {"as_number('1,000')", "undefined"}, {"as_number('NaN')", "undefined"},
    {"as_number('Infinity')", "undefined"}, {"as_number('inf')", "undefined"},
    {"as_number('-inf')", "undefined"}, {"as_number('1e999')", "undefined"},
    {"as_number('35abc')", "undefined"}, {"as_number('+-1')", "undefined"},
    {"as_number('-')", "undefined"}, {"as_number('1.')", "1"}, {"as_number(7)", "7"},
    {"as_number(temp)", "35"}, {"as_number(temp) > 30", "true"}, {"as_number(name)", "undefined"},
    {"as_number($body.num)", "35"}, {"as_number($body.str)", "undefined"},
    {"as_number($body.t)", "undefined"}, {"as_number($body.nul)", "undefined"},
    {"is_bool(true)", "true"}, {"is_bool('true')", "false"}, {"is_bool(null)", "false"},
    {"is_bool($body.t)", "true"}, {"is_bool($body.num)", "false"}, {"is_defined(temp)", "true"},
    {"is_defined(null)", "true"}, {"is_defined(undefined)", "false"},
    {"is_defined($body.nul)", "true"}, {"is_defined($body.nope)", "true"},
    {"is_defined($body.obj)", "false"}, {"is_defined($body.arr)", "false"},
    {"is_defined(as_number('x'))", "false"}, {"is_null(null)", "true"},
    {"is_null($body.nul)", "true"}, {"is_null($body.nope)", "true"}, {"is_null(temp)", "false"},
    {"is_null(undefined)", "false"}, {"is_null($body.obj)", "false"}, {"is_number(1)", "true"},
    {"is_number(temp)", "false"}, {"is_number($body.num)", "true"},
    {"is_number($body.str)", "false"}, {"is_number(1 / 0)", "false"}, {"is_string('a')", "true"},
    {"is_string(temp)", "true"}, {"is_string($body.str)", "true"},
    {"is_string($body.num)", "false"}, {"is_string(1)", "false"}, {"is_array($body.arr)", "true"},
    {"is_array($body.obj)", "false"}, {"is_array($body.arr[3])", "true"},
    {"is_array($body.arr[0])", "false"}, {"is_array('a')", "false"},
    {"is_array($body.nope)", "false"}, {"is_object($body.obj)", "true"},
    {"is_object($body.obj.b)", "true"}, {"is_object($body.arr)", "false"},
    {"is_object($body.arr[2])", "true"}, {"is_object(null)", "false"}, {"is_object(temp)", "false"},
    {"is_primitive(1)", "true"}, {"is_primitive('a')", "true"}, {"is_primitive(null)", "true"},
    {"is_primitive(true)", "true"}, {"is_primitive(undefined)", "false"},
    {"is_primitive($body.obj)", "false"}, {"is_primitive($body.arr)", "false"},
    {"is_primitive($body.num)", "true"}, {"is_primitive($body.nul)", "true"},
    {"is_primitive(temp)", "true"}, {"is_object($body.obj ?? 1)", "false"});

EDGE_ROUTE_CASES(
    StringFunctions, {"concat('a', 'b')", "'ab'"}, {"concat('a', 'b', 'c', 'd')", "'abcd'"},
    {"concat(name, '-', temp)", "'Sensor-1-35'"}, {"concat('', '')", "''"},
    {"concat('a', $body.num)", "undefined"}, {"concat('a', $body.str)", "'ahello'"},
    {"concat($body.obj, 'a')", "undefined"}, {"length('abc')", "3"}, {"length('')", "0"},
    {"length('h\xc3\xa9llo')", "5"}, {"length('\xf0\x9f\x98\x80')", "1"}, {"length(name)", "8"},
    {"length($body.uni)", "5"}, {"length($body.num)", "undefined"}, {"lower('ABC')", "'abc'"},
    {"lower('A-1 b')", "'a-1 b'"},
    {"lower('\xc3\x80"
     "B')",
     "'\xc3\x80"
     "b'"},
    {"upper('abc')", "'ABC'"}, {"upper(name)", "'SENSOR-1'"}, {"upper($body.str)", "'HELLO'"},
    {"substring('hello', 1, 3)", "'ell'"}, {"substring('hello', 1)", "'ello'"},
    {"substring('hello', 0)", "'hello'"}, {"substring('hello', 5)", "''"},
    {"substring('hello', 6)", "undefined"}, {"substring('hello', -1)", "undefined"},
    {"substring('hello', 1, 0)", "''"}, {"substring('hello', 1, 4)", "'ello'"},
    {"substring('hello', 1, 5)", "undefined"}, {"substring('hello', 0, -1)", "undefined"},
    {"substring('hello', 1.7)", "'ello'"}, {"substring('hello', 1, 2.9)", "'el'"},
    {"substring('hello', 5, 0)", "''"}, {"substring('h\xc3\xa9llo', 1, 2)", "'\xc3\xa9l'"},
    {"substring('hello', 1e300)", "undefined"}, {"substring('hello', 0, 1e300)", "undefined"},
    {"substring($body.str, $body.zero, 2)", "'he'"}, {"index_of('hello', 'l')", "2"},
    {"index_of('hello', 'z')", "-1"}, {"index_of('hello', '')", "0"},
    {"index_of('h\xc3\xa9llo', 'l')", "2"}, {"index_of('', 'a')", "-1"},
    {"index_of('hello', 'lo')", "3"}, {"index_of('hello', 'L')", "-1"},
    {"starts_with('hello', 'he')", "true"}, {"starts_with('hello', 'He')", "false"},
    {"starts_with('hello', '')", "true"}, {"starts_with('he', 'hello')", "false"},
    {"ends_with('hello', 'lo')", "true"}, {"ends_with('hello', 'hello!')", "false"},
    {"ends_with('hello', 'LO')", "false"}, {"contains('hello', 'ell')", "true"},
    {"contains('hello', 'xyz')", "false"}, {"contains('', '')", "true"},
    {"contains(name, '-')", "true"}, {"contains($body.str, 'll')", "true"},
    {"contains($body.num, '3')", "undefined"});

EDGE_ROUTE_CASES(Properties, {"temp", "'35'"}, {"TEMP", "'35'"}, {"Temp = '35'", "true"},
                 {"name = 'Sensor-1'", "true"}, {"empty = ''", "true"},
                 {"is_defined(empty)", "true"}, {"length(empty)", "0"}, {"$messageId", "'mid-1'"},
                 {"$MESSAGEID", "'mid-1'"}, {"{$messageId}", "'mid-1'"},
                 {"{ $messageId }", "'mid-1'"}, {"{/* c */$messageId}", "'mid-1'"},
                 {"$correlationId", "'cid-1'"}, {"$userId", "'user-1'"},
                 {"$to", "'/devices/dev1/messages/events'"}, {"$contentType", "'application/json'"},
                 {"$contentEncoding", "'utf-8'"}, {"$connectionDeviceId", "'dev1'"},
                 {"$connectionModuleId", "'mod1'"},
                 {"$connectionAuthMethod", R"('{"scope":"module","type":"sas"}')"},
                 {"$enqueuedTime", "'2024-01-01T00:00:00.000Z'"}, {"$messageSchema", "'schema-1'"},
                 {"$creationTime", "'2023-12-31T23:59:59.000Z'"}, {"$outputName", "'out1'"},
                 {"$inputName", "'in1'"}, {"$edgeHubOriginInterface", "'hub-interface'"},
                 {"{$edgeHubOriginInterface}", "'hub-interface'"}, {"$nope", "undefined"},
                 {"$body", "undefined"}, {"{$temp}", "undefined"}, {"$temp", "undefined"},
                 {"$messageId", "'from-app'", Fixture::kShadowing},
                 {"{$messageId}", "'mid-1'", Fixture::kShadowing},
                 {"$MessageId", "'from-app'", Fixture::kShadowing},
                 {"$body.num", "'app-body'", Fixture::kShadowing},
                 {"{$body.num}", "1", Fixture::kShadowing},
                 {"$body.num = 1", "undefined", Fixture::kShadowing},
                 {"dup", "'lower'", Fixture::kShadowing}, {"Dup", "'upper'", Fixture::kShadowing},
                 {"DUP", "'upper'", Fixture::kShadowing});

EDGE_ROUTE_CASES(
    BodyQueries, {"$body.num", "35"}, {"$body.neg", "-2.5"}, {"$body.zero", "0"},
    {"$body.str", "'hello'"}, {"$body.empty", "''"}, {"$body.t", "true"}, {"$body.f", "false"},
    {"$body.nul", "null"}, {"$body.obj", "undefined"}, {"$body.arr", "undefined"},
    {"$body.obj.a", "1"}, {"$body.obj.b.c", "'deep'"}, {"$body.obj.b.c.d", "null"},
    {"$body.obj.nope", "null"}, {"$body.nope.deeper", "null"}, {"$body.arr[0]", "1"},
    {"$body.arr[1]", "'two'"}, {"$body.arr[2].x", "3"}, {"$body.arr[3][1]", "5"},
    {"$body.arr[3]", "undefined"}, {"$body.arr[4]", "null"},
    {"$body.arr[99999999999999999999]", "null"}, {"$body.str[0]", "null"}, {"$body.obj[0]", "null"},
    {"$body.arr.x", "null"}, {"$body.big", "1e+300"}, {"$body.big * 1e10", "undefined"},
    {"$body.int", "9.0072e+15"}, {"$body.uni", "'h\xc3\xa9llo'"}, {"$body.Key", "'upper'"},
    {"$body.key", "null"}, {"$BODY.num", "35"}, {"$Body.num", "35"}, {"{$body.num}", "35"},
    {"$body['a-b']", "'dash'"}, {"$body[\"sp ace\"]", "'space'"}, {"$body.$meta", "'dollar'"},
    {"$body.obj['b'].c", "'deep'"}, {"$body.num > 30", "true"}, {"$body.num>30", "true"},
    {"$body.num = 35", "true"}, {"$body.num = '35'", "undefined"}, {"$body.str = 'hello'", "true"},
    {"$body.str = 1", "undefined"}, {"$body.t = true", "true"}, {"$body.t = 'true'", "undefined"},
    {"$body.nul = null", "true"}, {"$body.nope = null", "true"}, {"$body.obj = null", "undefined"},
    {"$body.num + 1", "36"}, {"$body.str || '!'", "'hello!'"}, {"$body.num || '!'", "undefined"},
    {"-$body.num", "-35"}, {"-$body.str", "undefined"}, {"NOT $body.t", "false"},
    {"NOT $body.num", "undefined"}, {"$body.t AND $body.f", "false"},
    {"$body.num AND true", "undefined"}, {"$body.nul OR true", "true"}, {"$body.num ?? 0", "35"},
    {"$body.obj ?? 'fallback'", "'fallback'"}, {"$body.nul ?? 'x'", "null"},
    {"$body.nope ?? 'x'", "null"}, {"length($body.str)", "5"}, {"$body.num > $body.zero", "true"},
    {"$body.num = $body.str", "undefined"}, {"$body.arr[2].x = $body.obj.a + 2", "true"},
    {"$body.num = temp", "undefined"}, {"as_number(temp) = $body.num", "true"});

}  // namespace
}  // namespace edge::route
