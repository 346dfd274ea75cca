// The router's configuration handling: the verdict on a desired version, the reported patch and
// the persisted state.
#include "services/router/routes_config.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/router/active_routes.h"
#include "tests/unit/router/router_test_builders.h"

namespace edge::router {
namespace {

using ::edge::router::testing::DesiredBuilder;
using ::edge::router::testing::kModuleBInput;
using ::testing::HasSubstr;

std::string ValidDesired() {
  return DesiredBuilder()
      .Route("toB", absl::StrCat("FROM /messages/modules/A/* INTO ", kModuleBInput))
      .Route("up", "FROM /messages/* INTO $upstream", 2, 60)
      .GlobalTtl(100)
      .Json();
}

TEST(EvaluateDesiredTest, ValidDocumentIsAppliedWith200) {
  DesiredOutcome outcome = EvaluateDesired(7, ValidDesired());
  EXPECT_EQ(outcome.status, (DesiredStatus{7, kDesiredApplied, ""}));
  ASSERT_NE(outcome.config, nullptr);
  EXPECT_EQ(outcome.config->desired_version, 7);
  EXPECT_EQ(outcome.config->table.size(), 2u);
  EXPECT_EQ(outcome.config->spec.time_to_live_secs, 100);
  EXPECT_EQ(outcome.config->spec.schema_version, "1.1");
}

TEST(EvaluateDesiredTest, BadRouteIsRejectedWholeWith400ListingTheProblem) {
  std::string desired = DesiredBuilder()
                            .Route("good", "FROM /messages/* INTO $upstream")
                            .Route("bad", "FROM /messages/* WHERE temp > 30 INTO $upstream")
                            .Json();
  DesiredOutcome outcome = EvaluateDesired(3, desired);
  EXPECT_EQ(outcome.status.code, kDesiredInvalid);
  EXPECT_EQ(outcome.status.desired_version, 3);
  EXPECT_THAT(outcome.status.description, HasSubstr("route 'bad'"));
  EXPECT_EQ(outcome.config, nullptr);
}

TEST(EvaluateDesiredTest, UnsupportedSchemaVersionIs412) {
  DesiredOutcome outcome =
      EvaluateDesired(4, DesiredBuilder("2.0").Route("up", "FROM /* INTO $upstream").Json());
  EXPECT_EQ(outcome.status.code, kDesiredBadSchemaVersion);
  EXPECT_THAT(outcome.status.description, HasSubstr("schemaVersion"));
  EXPECT_EQ(outcome.config, nullptr);
}

TEST(EvaluateDesiredTest, MissingSchemaVersionIs400) {
  DesiredOutcome outcome = EvaluateDesired(4, R"({"routes": {}})");
  EXPECT_EQ(outcome.status.code, kDesiredInvalid);
  EXPECT_THAT(outcome.status.description, HasSubstr("schemaVersion is missing"));
}

TEST(EvaluateDesiredTest, EmptyDocumentIs417NotConfigured) {
  DesiredOutcome outcome = EvaluateDesired(1, R"({"$version": 1})");
  EXPECT_EQ(outcome.status.code, kDesiredNotConfigured);
  EXPECT_EQ(outcome.config, nullptr);
}

TEST(EvaluateDesiredTest, TextThatIsNotJsonIs400) {
  DesiredOutcome outcome = EvaluateDesired(2, "{not json");
  EXPECT_EQ(outcome.status.code, kDesiredInvalid);
  EXPECT_THAT(outcome.status.description, HasSubstr("not JSON"));
}

TEST(EvaluateDesiredTest, VersionAndMetadataMembersAreIgnored) {
  nlohmann::json desired = nlohmann::json::parse(ValidDesired());
  desired["$version"] = 9;
  desired["$metadata"] = {{"$lastUpdated", "x"}};
  DesiredOutcome outcome = EvaluateDesired(9, desired.dump());
  ASSERT_EQ(outcome.status.code, kDesiredApplied) << outcome.status.description;
  EXPECT_THAT(outcome.config->desired_json, ::testing::Not(HasSubstr("$version")));
}

TEST(CompileRoutesConfigTest, BadSchemaVersionIsFailedPrecondition) {
  auto compiled = CompileRoutesConfig(1, DesiredBuilder("0.9").Json());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReportedPatchTest, CarriesLastDesiredVersionAndStatus) {
  nlohmann::json patch =
      nlohmann::json::parse(ReportedPatch(DesiredStatus{5, kDesiredInvalid, "route 'x': bad"}));
  EXPECT_EQ(patch["lastDesiredVersion"], 5);
  EXPECT_EQ(patch["lastDesiredStatus"]["code"], 400);
  EXPECT_EQ(patch["lastDesiredStatus"]["description"], "route 'x': bad");
}

TEST(RouterStateTest, RoundTrips) {
  RouterState state;
  state.config = RouterState::Config{4, ValidDesired()};
  state.status = DesiredStatus{6, kDesiredInvalid, "why"};
  state.cursor = 42;
  absl::StatusOr<RouterState> parsed = ParseRouterState(SerializeRouterState(state));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->config.has_value());
  EXPECT_EQ(parsed->config->desired_version, 4);
  EXPECT_EQ(parsed->config->desired_json, ValidDesired());
  EXPECT_EQ(parsed->status, state.status);
  EXPECT_EQ(parsed->cursor, 42u);
}

TEST(RouterStateTest, EmptyStateRoundTrips) {
  absl::StatusOr<RouterState> parsed = ParseRouterState(SerializeRouterState(RouterState{}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->config.has_value());
  EXPECT_FALSE(parsed->status.has_value());
  EXPECT_EQ(parsed->cursor, 0u);
}

TEST(RouterStateTest, MalformedStateIsInvalidArgument) {
  EXPECT_EQ(ParseRouterState("[]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRouterState(R"({"cursor": "x"})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRouterState(R"({"cursor": 1, "config": {"desired": 3}})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ActiveRoutesTest, NotLoadedUntilTheStateIsRead) {
  ActiveRoutes routes;
  EXPECT_FALSE(routes.Get().loaded);
  routes.Load(nullptr, std::nullopt);
  EXPECT_TRUE(routes.Get().loaded);
  EXPECT_EQ(routes.Get().config, nullptr);
}

TEST(ActiveRoutesTest, InvalidVersionKeepsTheConfigurationInForce) {
  ActiveRoutes routes;
  routes.Load(nullptr, std::nullopt);
  routes.Apply(EvaluateDesired(1, ValidDesired()));
  routes.Apply(EvaluateDesired(2, "{not json"));
  ActiveRoutes::Snapshot now = routes.Get();
  ASSERT_NE(now.config, nullptr);
  EXPECT_EQ(now.config->desired_version, 1);
  ASSERT_TRUE(now.status.has_value());
  EXPECT_EQ(now.status->desired_version, 2);
  EXPECT_EQ(now.status->code, kDesiredInvalid);
}

}  // namespace
}  // namespace edge::router
