// $edgeHub configuration parsing and whole-table evaluation: schema versions, route forms,
// priorities and TTLs, best priority per endpoint, and explanations.
#include "common/route/route_table.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/route/test_message.h"

namespace edge::route {
namespace {

using ::edge::route::testing::TestMessage;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Json = nlohmann::json;

constexpr absl::string_view kUpstream = "$upstream";
const std::string kFilter = "BrokeredEndpoint(\"/modules/filter/inputs/in1\")";

// A desired-properties document with `routes` and, when given, the global TTL.
Json Desired(Json routes, const std::string& version = "1.1", Json ttl = nullptr) {
  Json desired = {{"schemaVersion", version}, {"routes", std::move(routes)}};
  if (!ttl.is_null()) desired["storeAndForwardConfiguration"] = {{"timeToLiveSecs", ttl}};
  return desired;
}

RouteTable Table(const Json& desired) {
  absl::StatusOr<RouteTable> table = RouteTable::FromEdgeHubDesired(desired);
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

std::string Error(const Json& desired) {
  absl::StatusOr<RouteTable> table = RouteTable::FromEdgeHubDesired(desired);
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(table.status().message());
}

std::vector<RouteTarget> Targets(const RouteTable& table, TestMessage message) {
  MessageContext context(message.view());
  return table.Evaluate(context);
}

TEST(EdgeHubConfigTest, SchemaOneZeroTakesRouteStrings) {
  RouteTable table = Table(Desired({{"r", "FROM /* INTO $upstream"}}, "1.0"));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.schema_version(), "1.0");
  EXPECT_EQ(table.time_to_live_secs(), kDefaultTimeToLiveSecs);
}

TEST(EdgeHubConfigTest, SchemaOneOneToOneThreeAreAccepted) {
  for (const char* version : {"1.1", "1.2", "1.3"}) {
    EXPECT_EQ(Table(Desired({{"r", "FROM /* INTO $upstream"}}, version)).schema_version(), version);
  }
}

TEST(EdgeHubConfigTest, OtherSchemaVersionsAreRejected) {
  for (const char* version : {"1.4", "2.0", "1", "1.1.0", "", "v1.1"}) {
    EXPECT_THAT(Error(Desired({{"r", "FROM /* INTO $upstream"}}, version)),
                HasSubstr("is not supported; 1.0 to 1.3 are"))
        << version;
  }
}

TEST(EdgeHubConfigTest, SchemaVersionMustBeAString) {
  Json desired = Desired({{"r", "FROM /* INTO $upstream"}});
  desired["schemaVersion"] = 1.1;
  EXPECT_THAT(Error(desired), HasSubstr("schemaVersion must be a string"));
}

TEST(EdgeHubConfigTest, SchemaVersionIsRequired) {
  EXPECT_THAT(Error(Json{{"routes", Json::object()}}), HasSubstr("schemaVersion is missing"));
}

TEST(EdgeHubConfigTest, RoutesAreRequiredAndAnObject) {
  EXPECT_THAT(Error(Json{{"schemaVersion", "1.1"}}), HasSubstr("routes is missing"));
  EXPECT_THAT(Error(Desired(Json::array({"FROM /* INTO $upstream"}))),
              HasSubstr("routes must be an object of name: route, not array"));
}

TEST(EdgeHubConfigTest, NoRoutesIsAValidEmptyTable) {
  RouteTable table = Table(Desired(Json::object()));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_THAT(Targets(table, TestMessage()), IsEmpty());
}

TEST(EdgeHubConfigTest, DesiredMustBeAnObject) {
  EXPECT_THAT(Error(Json::array()), HasSubstr("must be a JSON object, not array"));
}

TEST(EdgeHubConfigTest, RouteObjectsNeedSchemaOneOne) {
  EXPECT_THAT(Error(Desired({{"r", {{"route", "FROM /* INTO $upstream"}}}}, "1.0")),
              HasSubstr("route 'r': {route, priority, timeToLiveSecs} needs schemaVersion 1.1"));
}

TEST(EdgeHubConfigTest, RouteObjectCarriesPriorityAndTtl) {
  RouteTable table = Table(Desired(
      {{"r", {{"route", "FROM /* INTO $upstream"}, {"priority", 3}, {"timeToLiveSecs", 60}}}}));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, 3, 60}));
}

TEST(EdgeHubConfigTest, NullPriorityAndTtlMeanAbsent) {
  RouteTable table = Table(Desired({{"r",
                                     {{"route", "FROM /* INTO $upstream"},
                                      {"priority", nullptr},
                                      {"timeToLiveSecs", nullptr}}}}));
  EXPECT_THAT(Targets(table, TestMessage()),
              ElementsAre(RouteTarget{kUpstream, std::nullopt, kDefaultTimeToLiveSecs}));
}

TEST(EdgeHubConfigTest, BadRouteObjectsAreRejected) {
  struct Bad {
    Json route;
    const char* error;
  };
  const std::vector<Bad> cases = {
      {5, "route 'r': must be a route string or an object, not number"},
      {nullptr, "must be a route string or an object, not null"},
      {Json::object(), "route 'r': needs a string member \"route\""},
      {{{"route", 5}}, "needs a string member \"route\""},
      {{{"route", "FROM /* INTO $upstream"}, {"priority", 10}}, "priority 10 is not in 0-9"},
      {{{"route", "FROM /* INTO $upstream"}, {"priority", -1}}, "priority -1 is not in 0-9"},
      {{{"route", "FROM /* INTO $upstream"}, {"priority", "1"}}, "priority must be an integer"},
      {{{"route", "FROM /* INTO $upstream"}, {"priority", 1.5}}, "priority must be an integer"},
      {{{"route", "FROM /* INTO $upstream"}, {"timeToLiveSecs", -5}},
       "timeToLiveSecs -5 is negative"},
      {{{"route", "FROM /* INTO $upstream"}, {"timeToLiveSecs", "60"}},
       "timeToLiveSecs must be an integer"},
      {{{"route", "FROM /* INTO $upstream"}, {"timeToLiveSecs", 18446744073709551615u}},
       "is too large"},
  };
  for (const Bad& bad : cases) {
    EXPECT_THAT(Error(Desired({{"r", bad.route}})), HasSubstr(bad.error)) << bad.route.dump();
  }
}

TEST(EdgeHubConfigTest, EveryBadRouteIsListedInOneError) {
  const std::string error =
      Error(Desired({{"good", "FROM /* INTO $upstream"},
                     {"bad1", "FROM /* WHERE temp > 30 INTO $upstream"},
                     {"bad2", "FROM /nowhere INTO $upstream"},
                     {"bad3", {{"route", "FROM /* INTO $x"}, {"priority", 12}}},
                     {"bad4", "INTO $upstream"}}));
  EXPECT_THAT(error, HasSubstr("4 problems"));
  EXPECT_THAT(error, HasSubstr("route 'bad1': 'temp' is a string property compared with a number "
                               "at 1:20; use as_number(temp)"));
  EXPECT_THAT(error, HasSubstr("route 'bad2': the source '/nowhere' never matches a message"));
  EXPECT_THAT(error, HasSubstr("route 'bad3': priority 12 is not in 0-9"));
  EXPECT_THAT(error, HasSubstr("route 'bad4': expected FROM"));
  EXPECT_THAT(error, Not(HasSubstr("'good'")));
}

TEST(EdgeHubConfigTest, SchemaProblemsAndBadRoutesAreListedTogether) {
  const std::string error = Error(Desired({{"bad", "FROM /* INTO $nowhere"}}, "9.9", "forever"));
  EXPECT_THAT(error, HasSubstr("3 problems"));
  EXPECT_THAT(error, HasSubstr("schemaVersion \"9.9\" is not supported"));
  EXPECT_THAT(error, HasSubstr("storeAndForwardConfiguration: timeToLiveSecs must be an integer"));
  EXPECT_THAT(error, HasSubstr("route 'bad': unknown sink '$nowhere'"));
}

TEST(EdgeHubConfigTest, GlobalTtlAppliesWhenTheRouteHasNone) {
  RouteTable table = Table(Desired({{"r", "FROM /* INTO $upstream"}}, "1.1", 100));
  EXPECT_EQ(table.time_to_live_secs(), 100);
  EXPECT_THAT(Targets(table, TestMessage()),
              ElementsAre(RouteTarget{kUpstream, std::nullopt, 100}));
}

TEST(EdgeHubConfigTest, RouteTtlZeroMeansTheGlobalTtl) {
  RouteTable table = Table(
      Desired({{"r", {{"route", "FROM /* INTO $upstream"}, {"timeToLiveSecs", 0}}}}, "1.1", 100));
  EXPECT_THAT(Targets(table, TestMessage()),
              ElementsAre(RouteTarget{kUpstream, std::nullopt, 100}));
}

TEST(EdgeHubConfigTest, NegativeGlobalTtlIsForever) {
  RouteTable table = Table(Desired({{"r", "FROM /* INTO $upstream"}}, "1.1", -1));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, std::nullopt, 0}));
}

TEST(EdgeHubConfigTest, ZeroGlobalTtlIsForever) {
  RouteTable table = Table(Desired({{"r", "FROM /* INTO $upstream"}}, "1.1", 0));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, std::nullopt, 0}));
}

TEST(EdgeHubConfigTest, RouteTtlOverridesAForeverGlobalTtl) {
  RouteTable table = Table(
      Desired({{"r", {{"route", "FROM /* INTO $upstream"}, {"timeToLiveSecs", 30}}}}, "1.1", -1));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, std::nullopt, 30}));
}

TEST(EdgeHubConfigTest, UnknownMembersAreIgnored) {
  Json desired = Desired({{"r", {{"route", "FROM /* INTO $upstream"}, {"extra", 1}}}}, "1.2");
  desired["$version"] = 4;
  desired["mqttBroker"] = Json::object();
  EXPECT_EQ(Table(desired).size(), 1u);
}

TEST(EdgeHubConfigTest, JsonTextIsParsedOrRejected) {
  absl::StatusOr<RouteTable> table = RouteTable::FromEdgeHubDesiredJson(
      R"({"schemaVersion": "1.0", "routes": {"r": "FROM /* INTO $upstream"}})");
  ASSERT_TRUE(table.ok()) << table.status();
  absl::StatusOr<RouteTable> bad = RouteTable::FromEdgeHubDesiredJson("{\"schemaVersion\": ");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("is not valid JSON"));
}

TEST(EdgeHubConfigTest, ParseWithoutCompilingKeepsTheSpecs) {
  absl::StatusOr<EdgeHubRoutesConfig> config = ParseEdgeHubRoutesConfig(Desired(
      {{"a", "FROM /* WHERE temp > 1 INTO $upstream"}, {"b", {{"route", "x"}, {"priority", 2}}}},
      "1.3", 50));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->routes.size(), 2u);
  EXPECT_EQ(config->routes[0].name, "a");
  EXPECT_EQ(config->routes[1].priority, 2u);
  EXPECT_EQ(config->time_to_live_secs, 50);
}

TEST(RouteTableTest, CreateRejectsDuplicateAndEmptyNamesAndBadPriorities) {
  absl::StatusOr<RouteTable> table =
      RouteTable::Create({{"a", "FROM /* INTO $upstream"},
                          {"a", "FROM /* INTO $upstream"},
                          {"", "FROM /* INTO $upstream"},
                          {"p", "FROM /* INTO $upstream", 10},
                          {"t", "FROM /* INTO $upstream", std::nullopt, -1}});
  const std::string error(table.status().message());
  EXPECT_THAT(error, HasSubstr("route 'a': the name is used twice"));
  EXPECT_THAT(error, HasSubstr("a route has an empty name"));
  EXPECT_THAT(error, HasSubstr("route 'p': priority 10 is not in 0-9"));
  EXPECT_THAT(error, HasSubstr("route 't': timeToLiveSecs is negative"));
}

TEST(RouteTableTest, BestPriorityWinsPerEndpoint) {
  RouteTable table = Table(Desired({
      {"low", {{"route", "FROM /* INTO $upstream"}, {"priority", 5}, {"timeToLiveSecs", 10}}},
      {"high", {{"route", "FROM /* INTO $upstream"}, {"priority", 1}, {"timeToLiveSecs", 20}}},
      {"none", "FROM /* INTO $upstream"},
  }));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, 1, 20}));
}

TEST(RouteTableTest, AnyPriorityBeatsNone) {
  RouteTable table = Table(Desired({
      {"a", "FROM /* INTO $upstream"},
      {"b", {{"route", "FROM /* INTO $upstream"}, {"priority", 9}, {"timeToLiveSecs", 5}}},
  }));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, 9, 5}));
}

TEST(RouteTableTest, SamePriorityKeepsTheLongestTtl) {
  RouteTable table = Table(Desired({
      {"a", {{"route", "FROM /* INTO $upstream"}, {"priority", 2}, {"timeToLiveSecs", 10}}},
      {"b", {{"route", "FROM /* INTO $upstream"}, {"priority", 2}, {"timeToLiveSecs", 90}}},
      {"c", {{"route", "FROM /* INTO $upstream"}, {"priority", 2}, {"timeToLiveSecs", 30}}},
  }));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, 2, 90}));
}

TEST(RouteTableTest, ForeverIsTheLongestTtl) {
  RouteTable table = Table(Desired(
      {
          {"a", {{"route", "FROM /* INTO $upstream"}, {"timeToLiveSecs", 10}}},
          {"b", "FROM /* INTO $upstream"},
      },
      "1.1", -1));
  EXPECT_THAT(Targets(table, TestMessage()), ElementsAre(RouteTarget{kUpstream, std::nullopt, 0}));
}

TEST(RouteTableTest, EachEndpointGetsTheMessageOnce) {
  RouteTable table = Table(Desired({
      {"a", "FROM /* INTO $upstream"},
      {"b", "FROM /messages/* INTO BrokeredEndpoint(\"/modules/filter/inputs/in1\")"},
      {"c", "FROM /* INTO brokeredendpoint('/modules/filter/inputs/in1')"},
      {"d", "FROM /messages/modules/other/* INTO BrokeredEndpoint(\"/modules/x/inputs/y\")"},
  }));
  const std::vector<RouteTarget> targets = Targets(table, TestMessage().FromModule("m", "o"));
  EXPECT_THAT(targets, ElementsAre(RouteTarget{kUpstream, std::nullopt, kDefaultTimeToLiveSecs},
                                   RouteTarget{kFilter, std::nullopt, kDefaultTimeToLiveSecs}));
}

TEST(RouteTableTest, MessageMatchingNoRouteHasNoTargets) {
  RouteTable table = Table(Desired({{"a", "FROM /* WHERE alert = 'on' INTO $upstream"}}));
  EXPECT_THAT(Targets(table, TestMessage().App("alert", "off")), IsEmpty());
}

TEST(RouteTableTest, ConditionsSelectEndpoints) {
  RouteTable table = Table(Desired({
      {"hot", "FROM /messages/* WHERE as_number(temp) > 30 INTO $upstream"},
      {"cold", "FROM /messages/* WHERE as_number(temp) <= 30 INTO " + kFilter},
  }));
  EXPECT_THAT(Targets(table, TestMessage().App("temp", "35")),
              ElementsAre(RouteTarget{kUpstream, std::nullopt, kDefaultTimeToLiveSecs}));
  EXPECT_THAT(Targets(table, TestMessage().App("temp", "5")),
              ElementsAre(RouteTarget{kFilter, std::nullopt, kDefaultTimeToLiveSecs}));
  EXPECT_THAT(Targets(table, TestMessage()), IsEmpty());
}

TEST(RouteTableTest, TheBodyIsParsedOnceForTheWholeTable) {
  Json routes = Json::object();
  for (int i = 0; i < 20; ++i) {
    routes["r" + std::to_string(i)] = "FROM /* WHERE $body.v = " + std::to_string(i) +
                                      " INTO BrokeredEndpoint(\"/modules/m" + std::to_string(i) +
                                      "/inputs/in\")";
  }
  RouteTable table = Table(Desired(routes));
  TestMessage message = TestMessage().Json(R"({"v": 7})");
  MessageContext context(message.view());
  const std::vector<RouteTarget> targets = table.Evaluate(context);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].endpoint, "BrokeredEndpoint(\"/modules/m7/inputs/in\")");
  EXPECT_EQ(context.body_parse_count(), 1);
}

TEST(RouteTableTest, EvaluateReusesTheTargetVector) {
  RouteTable table = Table(Desired({{"a", "FROM /* INTO $upstream"}}));
  std::vector<RouteTarget> targets = {RouteTarget{"stale", 1, 1}, RouteTarget{"stale", 2, 2}};
  TestMessage message;
  MessageContext context(message.view());
  table.Evaluate(context, &targets);
  EXPECT_THAT(targets, ElementsAre(RouteTarget{kUpstream, std::nullopt, kDefaultTimeToLiveSecs}));
}

TEST(RouteTableTest, TargetsStayValidAfterTheTableMoves) {
  RouteTable table = Table(Desired({{"a", "FROM /* INTO " + kFilter}}));
  std::vector<RouteTarget> targets = Targets(table, TestMessage());
  RouteTable moved = std::move(table);
  EXPECT_EQ(targets.at(0).endpoint, kFilter);
  EXPECT_EQ(moved.size(), 1u);
}

TEST(RouteTableTest, ExplainCoversEveryRouteAndAgreesWithEvaluate) {
  RouteTable table = Table(Desired({
      {"a_match", "FROM /messages/* WHERE alert = 'on' INTO $upstream"},
      {"b_source", "FROM /twinChangeNotifications INTO $upstream"},
      {"c_false", "FROM /* WHERE alert = 'off' INTO $upstream"},
      {"d_undefined", "FROM /* WHERE missing = 'x' INTO $upstream"},
      {"e_body", "FROM /* WHERE $body.t > 1 INTO " + kFilter},
  }));
  TestMessage message = TestMessage().App("alert", "on").Body("plain text");
  MessageContext context(message.view());
  const RoutingDecision decision = table.Explain(context);
  EXPECT_EQ(decision.targets, table.Evaluate(context));
  ASSERT_EQ(decision.routes.size(), 5u);
  EXPECT_EQ(decision.routes[0].name, "a_match");
  EXPECT_EQ(decision.routes[0].outcome.kind, RouteOutcomeKind::kMatched);
  EXPECT_EQ(decision.routes[1].outcome.kind, RouteOutcomeKind::kSourceMismatch);
  EXPECT_EQ(decision.routes[2].outcome.kind, RouteOutcomeKind::kConditionFalse);
  EXPECT_EQ(decision.routes[3].outcome.kind, RouteOutcomeKind::kConditionUndefined);
  EXPECT_THAT(decision.routes[3].outcome.undefined_references, ElementsAre("missing"));
  EXPECT_EQ(decision.routes[4].outcome.kind, RouteOutcomeKind::kBodyNotJson);
  EXPECT_THAT(table.route_names(),
              ElementsAre("a_match", "b_source", "c_false", "d_undefined", "e_body"));
}

}  // namespace
}  // namespace edge::route
