// Routes: source matching, sinks, route-level compile errors, twin_change_includes, and the
// explanation of a route that did not match.
#include "common/route/route.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/route/test_message.h"

namespace edge::route {
namespace {

using ::edge::route::testing::FromSourcePath;
using ::edge::route::testing::TestMessage;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct SourceCase {
  const char* source;
  const char* message;  // a message source path, see FromSourcePath
  bool matches;
};

void PrintTo(const SourceCase& c, std::ostream* os) {
  *os << c.source << " vs " << c.message << (c.matches ? " matches" : " does not match");
}

class SourceMatchTest : public ::testing::TestWithParam<SourceCase> {};

TEST_P(SourceMatchTest, MatchesByCaseInsensitivePrefix) {
  absl::StatusOr<Route> route =
      Route::Compile(absl::StrCat("FROM ", GetParam().source, " INTO $upstream"));
  ASSERT_TRUE(route.ok()) << route.status();
  TestMessage message = FromSourcePath(GetParam().message);
  MessageContext context(message.view());
  EXPECT_EQ(route->Matches(context), GetParam().matches);
}

INSTANTIATE_TEST_SUITE_P(
    Sources, SourceMatchTest,
    ::testing::ValuesIn(std::vector<SourceCase>{
        {"/*", "/messages/", true},
        {"/*", "/messages/modules/m/", true},
        {"/*", "/messages/modules/m/outputs/o", true},
        {"/*", "/twinChangeNotifications", true},
        {"/", "/messages/", true},
        {"/messages/*", "/messages/", true},
        {"/messages/*", "/messages/modules/m/outputs/o", true},
        {"/messages/*", "/twinChangeNotifications", false},
        {"/messages", "/messages/", true},
        {"/messages", "/messages/modules/m/", true},
        {"/messages/", "/messages/modules/m/", true},
        {"/MESSAGES/*", "/messages/", true},
        {"/messages/modules/*", "/messages/", false},
        {"/messages/modules/*", "/messages/modules/m/", true},
        {"/messages/modules/*", "/messages/modules/m/outputs/o", true},
        {"/messages/modules", "/messages/modules/m/", true},
        {"/messages/modules/sensor/*", "/messages/modules/sensor/outputs/out1", true},
        {"/messages/modules/sensor/*", "/messages/modules/sensor/", true},
        {"/messages/modules/sensor/*", "/messages/modules/sensor2/outputs/out1", false},
        {"/messages/modules/sensor/*", "/messages/modules/sens/", false},
        {"/messages/modules/sensor/*", "/messages/modules/SENSOR/outputs/o", true},
        {"/messages/modules/sensor/*", "/messages/", false},
        {"/messages/modules/sensor", "/messages/modules/sensor/outputs/o", true},
        {"/messages/modules/sensor/outputs/*", "/messages/modules/sensor/", false},
        {"/messages/modules/sensor/outputs/*", "/messages/modules/sensor/outputs/out1", true},
        {"/messages/modules/sensor/outputs", "/messages/modules/sensor/outputs/out1", true},
        {"/messages/modules/sensor/outputs/out1", "/messages/modules/sensor/outputs/out1", true},
        {"/messages/modules/sensor/outputs/out1", "/messages/modules/sensor/outputs/out10", false},
        {"/messages/modules/sensor/outputs/out1", "/messages/modules/sensor/outputs/out2", false},
        {"/messages/modules/sensor/outputs/out1", "/messages/modules/sensor/outputs/OUT1", true},
        {"/messages/modules/sensor/outputs/out1", "/messages/modules/sensor/", false},
        {"/messages/modules/sensor/outputs/out1/", "/messages/modules/sensor/outputs/out1", true},
        {"/messages/modules/sensor/outputs/out1/*", "/messages/modules/sensor/outputs/out1", true},
        {"/messages/modules/m.x-1/outputs/o:2", "/messages/modules/m.x-1/outputs/o:2", true},
        {"/twinChangeNotifications", "/twinChangeNotifications", true},
        {"/twinChangeNotifications/*", "/twinChangeNotifications", true},
        {"/TWINCHANGENOTIFICATIONS", "/twinChangeNotifications", true},
        {"/twinChangeNotifications", "/messages/", false},
    }));

struct RouteErrorCase {
  const char* route;
  const char* error;
};

void PrintTo(const RouteErrorCase& c, std::ostream* os) { *os << c.route; }

class RouteCompileErrorTest : public ::testing::TestWithParam<RouteErrorCase> {};

TEST_P(RouteCompileErrorTest, IsRejected) {
  absl::StatusOr<Route> route = Route::Compile(GetParam().route);
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(route.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, RouteCompileErrorTest,
    ::testing::ValuesIn(std::vector<RouteErrorCase>{
        {"FROM messages/* INTO $upstream",
         "the source 'messages/*' does not start with '/' at 1:6"},
        {"FROM /foo INTO $upstream", "the source '/foo' never matches a message"},
        {"FROM /messages/foo INTO $upstream", "never matches a message"},
        {"FROM /messages/modules/m/inputs/i INTO $upstream", "never matches"},
        {"FROM /messages/modules/m/outputs/o/x INTO $upstream", "never matches"},
        {"FROM /twinChangeNotifications/x INTO $upstream", "never matches"},
        {"FROM // INTO $upstream", "has an empty segment"},
        {"FROM /messages//modules INTO $upstream", "has an empty segment"},
        {"FROM /*/messages INTO $upstream", "has '*' before its last segment"},
        {"FROM /messages/modules/*/outputs/o INTO $upstream", "'*' before its last segment"},
        {"FROM /messages/*/* INTO $upstream", "'*' before its last segment"},
        {"FROM /* INTO $downstream", "unknown sink '$downstream' at 1:14"},
        {"FROM /* INTO Foo(\"/modules/m/inputs/i\")", "unknown sink 'Foo'"},
        {"FROM /* INTO BrokeredEndpoint(\"/modules/m/outputs/i\")",
         "the endpoint '/modules/m/outputs/i' is not \"/modules/{module}/inputs/{input}\" at 1:31"},
        {"FROM /* INTO BrokeredEndpoint(\"/modules//inputs/i\")", "is not"},
        {"FROM /* INTO BrokeredEndpoint(\"/modules/m/inputs/\")", "is not"},
        {"FROM /* INTO BrokeredEndpoint(\"/modules/m/inputs/i/x\")", "is not"},
        {"FROM /* INTO BrokeredEndpoint(\"modules/m/inputs/i\")", "is not"},
        {"FROM /* INTO BrokeredEndpoint(\"\")", "is not"},
        {"FROM /* WHERE temp > 30 INTO $upstream",
         "'temp' is a string property compared with a number at 1:20; use as_number(temp)"},
        {"FROM /messages/* WHERE\n  temp = 1\nINTO $upstream", "compared with a number at 2:8"},
        {"FROM /* WHERE temp INTO $upstream",
         "the condition is the string property 'temp', not a "
         "boolean at 1:15"},
        {"FROM /* WHERE 1 + 1 INTO $upstream", "the condition is a number, not a boolean"},
        {"FROM /* WHERE 'x' INTO $upstream", "the condition is a string"},
        {"FROM /messages/* WHERE twin_change_includes(properties.reported.x) INTO $upstream",
         "twin_change_includes is only valid in routes FROM /twinChangeNotifications at 1:24"},
        {"FROM /* WHERE twin_change_includes(properties.reported.x) INTO $upstream",
         "only valid in routes FROM /twinChangeNotifications"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes(properties.x) INTO $upstream",
         "twin_change_includes path 'properties.x' is not supported"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported) "
         "INTO $upstream",
         "is not supported"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes(tags) INTO $upstream",
         "is not supported"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes() INTO $upstream",
         "twin_change_includes takes 1 argument, got 0"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes(1) INTO $upstream",
         "twin_change_includes takes a path"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes('a b') INTO $upstream",
         "'a b' is not a path"},
        {"FROM /twinChangeNotifications WHERE twin_change_includes(a, b) INTO $upstream",
         "takes 1 argument, got 2"},
    }));

TEST(RouteTest, UpstreamSinkIsCanonical) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* INTO $UPSTREAM");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->sink().kind, Sink::Kind::kUpstream);
  EXPECT_EQ(route->sink().endpoint, "$upstream");
}

TEST(RouteTest, BrokeredEndpointIsCanonicalAndKeepsNames) {
  absl::StatusOr<Route> route =
      Route::Compile("FROM /* INTO brokeredendpoint('/MODULES/Filter/INPUTS/In1')");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->sink().kind, Sink::Kind::kModuleInput);
  EXPECT_EQ(route->sink().module, "Filter");
  EXPECT_EQ(route->sink().input, "In1");
  EXPECT_EQ(route->sink().endpoint, "BrokeredEndpoint(\"/modules/Filter/inputs/In1\")");
}

TEST(RouteTest, KeepsTheConditionText) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE  a = 'x' /* why */ INTO $upstream");
  ASSERT_TRUE(route.ok()) << route.status();
  ASSERT_NE(route->condition(), nullptr);
  EXPECT_EQ(route->condition()->text(), "a = 'x' /* why */");
  EXPECT_EQ(route->source().text(), "/*");
}

TEST(RouteTest, WithoutWhereEveryMessageFromTheSourceMatches) {
  absl::StatusOr<Route> route = Route::Compile("FROM /messages/modules/a/* INTO $upstream");
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->condition(), nullptr);
  TestMessage from_a = TestMessage().FromModule("a", "o");
  TestMessage from_b = TestMessage().FromModule("b", "o");
  MessageContext a(from_a.view());
  MessageContext b(from_b.view());
  EXPECT_TRUE(route->Matches(a));
  EXPECT_FALSE(route->Matches(b));
}

TEST(RouteTest, ConditionDecidesWhenTheSourceMatches) {
  absl::StatusOr<Route> route =
      Route::Compile("FROM /messages/* WHERE alert = 'on' INTO $upstream");
  ASSERT_TRUE(route.ok());
  TestMessage on = TestMessage().App("alert", "on");
  TestMessage off = TestMessage().App("alert", "off");
  MessageContext on_context(on.view());
  MessageContext off_context(off.view());
  EXPECT_TRUE(route->Matches(on_context));
  EXPECT_FALSE(route->Matches(off_context));
}

TEST(RouteTest, SourceMismatchSkipsTheConditionAndTheBody) {
  absl::StatusOr<Route> route =
      Route::Compile("FROM /messages/modules/x/* WHERE $body.a = 1 INTO $upstream");
  ASSERT_TRUE(route.ok());
  TestMessage message = TestMessage().Json(R"({"a": 1})");
  MessageContext context(message.view());
  EXPECT_FALSE(route->Matches(context));
  EXPECT_EQ(context.body_parse_count(), 0);
}

class TwinChangeIncludesTest : public ::testing::Test {
 protected:
  Verdict Evaluate(const std::string& argument, const std::string& body) {
    absl::StatusOr<Route> route =
        Route::Compile("FROM /twinChangeNotifications WHERE twin_change_includes(" + argument +
                       ") INTO $upstream");
    EXPECT_TRUE(route.ok()) << route.status();
    if (!route.ok()) return Verdict::kUndefined;
    TestMessage message = TestMessage().TwinChange().Body(body);
    MessageContext context(message.view());
    return route->condition()->Evaluate(context);
  }

  const std::string twin_ =
      R"({"properties": {"reported": {"telemetryConfig": {"interval": 5}, "gone": null},
          "desired": {"x": 1}}, "tags": {"site": "a"}})";
};

TEST_F(TwinChangeIncludesTest, PresentPathIsTrue) {
  EXPECT_EQ(Evaluate("properties.reported.telemetryConfig", twin_), Verdict::kTrue);
  EXPECT_EQ(Evaluate("properties.reported.telemetryConfig.interval", twin_), Verdict::kTrue);
  EXPECT_EQ(Evaluate("properties.desired.x", twin_), Verdict::kTrue);
  EXPECT_EQ(Evaluate("tags.site", twin_), Verdict::kTrue);
}

TEST_F(TwinChangeIncludesTest, QuotedPathWorksLikeTheBareOne) {
  EXPECT_EQ(Evaluate("'properties.reported.telemetryConfig'", twin_), Verdict::kTrue);
  EXPECT_EQ(Evaluate("\"tags.other\"", twin_), Verdict::kFalse);
}

TEST_F(TwinChangeIncludesTest, PrefixIsCaseInsensitiveButKeysAreNot) {
  EXPECT_EQ(Evaluate("PROPERTIES.Reported.telemetryConfig", twin_), Verdict::kFalse);
  EXPECT_EQ(Evaluate("Tags.site", twin_), Verdict::kFalse);
}

TEST_F(TwinChangeIncludesTest, MissingOrNullPathIsFalse) {
  EXPECT_EQ(Evaluate("properties.reported.other", twin_), Verdict::kFalse);
  EXPECT_EQ(Evaluate("properties.reported.gone", twin_), Verdict::kFalse);
}

TEST_F(TwinChangeIncludesTest, BodyThatIsNotJsonIsUndefined) {
  EXPECT_EQ(Evaluate("properties.reported.x", "not json"), Verdict::kUndefined);
}

TEST(RouteExplainTest, SourceMismatchSaysWhichPaths) {
  absl::StatusOr<Route> route = Route::Compile("FROM /messages/modules/a/* INTO $upstream");
  TestMessage message = TestMessage().FromModule("b");
  MessageContext context(message.view());
  const RouteOutcome outcome = route->Explain(context);
  EXPECT_EQ(outcome.kind, RouteOutcomeKind::kSourceMismatch);
  EXPECT_EQ(
      outcome.detail,
      "the source '/messages/modules/a/*' does not match the message's '/messages/modules/b/'");
}

TEST(RouteExplainTest, FalseConditionIsConditionFalse) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE a = 'x' INTO $upstream");
  TestMessage message = TestMessage().App("a", "y");
  MessageContext context(message.view());
  EXPECT_EQ(route->Explain(context).kind, RouteOutcomeKind::kConditionFalse);
}

TEST(RouteExplainTest, UndefinedConditionNamesEveryUndefinedReference) {
  absl::StatusOr<Route> route = Route::Compile(
      "FROM /* WHERE a = 'x' OR $connectionModuleId = 'm' OR {$to} = 't' INTO $upstream");
  TestMessage message;
  MessageContext context(message.view());
  const RouteOutcome outcome = route->Explain(context);
  EXPECT_EQ(outcome.kind, RouteOutcomeKind::kConditionUndefined);
  EXPECT_THAT(outcome.undefined_references, ElementsAre("a", "$connectionModuleId", "{$to}"));
  EXPECT_EQ(outcome.detail, "the condition is Undefined: undefined a, $connectionModuleId, {$to}");
}

TEST(RouteExplainTest, FailingFunctionIsNamed) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE as_number(temp) > 30 INTO $upstream");
  TestMessage message = TestMessage().App("temp", "hot");
  MessageContext context(message.view());
  const RouteOutcome outcome = route->Explain(context);
  EXPECT_EQ(outcome.kind, RouteOutcomeKind::kConditionUndefined);
  EXPECT_THAT(outcome.undefined_references,
              ElementsAre("as_number() at 1:15 has no value for its arguments"));
}

TEST(RouteExplainTest, BodyValueOfTheWrongKindIsNamed) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE abs($body.a) > 1 INTO $upstream");
  TestMessage message = TestMessage().Json(R"({"a": "text"})");
  MessageContext context(message.view());
  EXPECT_THAT(route->Explain(context).undefined_references,
              ElementsAre("abs() at 1:15: argument 1 is string"));
}

TEST(RouteExplainTest, ObjectResultIsNamed) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE $body.a = 1 INTO $upstream");
  TestMessage message = TestMessage().Json(R"({"a": {"b": 1}})");
  MessageContext context(message.view());
  EXPECT_THAT(route->Explain(context).undefined_references, ElementsAre("$body.a (an object)"));
}

TEST(RouteExplainTest, BodyThatCannotBeQueriedIsBodyNotJson) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE $body.t > 30 INTO $upstream");
  TestMessage message = TestMessage().Body(R"({"t": 35})");
  MessageContext context(message.view());
  const RouteOutcome outcome = route->Explain(context);
  EXPECT_EQ(outcome.kind, RouteOutcomeKind::kBodyNotJson);
  EXPECT_THAT(outcome.detail, HasSubstr("no contentType"));
  EXPECT_THAT(outcome.undefined_references, ElementsAre("$body.t"));
}

TEST(RouteExplainTest, InvalidJsonIsBodyNotJson) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE $body.t > 30 INTO $upstream");
  TestMessage message = TestMessage().Json("{\"t\": ");
  MessageContext context(message.view());
  const RouteOutcome outcome = route->Explain(context);
  EXPECT_EQ(outcome.kind, RouteOutcomeKind::kBodyNotJson);
  EXPECT_THAT(outcome.detail, HasSubstr("not valid JSON"));
}

TEST(RouteExplainTest, MatchedRouteSaysSo) {
  absl::StatusOr<Route> route = Route::Compile("FROM /* WHERE true INTO $upstream");
  TestMessage message;
  MessageContext context(message.view());
  EXPECT_EQ(route->Explain(context).kind, RouteOutcomeKind::kMatched);
  EXPECT_EQ(RouteOutcomeKindName(RouteOutcomeKind::kBodyNotJson), "body not JSON");
}

}  // namespace
}  // namespace edge::route
