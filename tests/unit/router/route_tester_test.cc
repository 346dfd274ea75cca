#include "services/router/route_tester.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::router {
namespace {

using ::testing::HasSubstr;

constexpr char kRoutes[] = R"json({
  "schemaVersion": "1.1",
  "routes": {
    "alerts": {"route": "FROM /messages/modules/filter/outputs/alert INTO $upstream", "priority": 0},
    "hot": "FROM /messages/* WHERE $body.temperature > 30 INTO BrokeredEndpoint(\"/modules/filter/inputs/in1\")",
    "sensors": "FROM /messages/modules/sensor/* INTO BrokeredEndpoint(\"/modules/filter/inputs/in1\")",
    "tagged": "FROM /messages/* WHERE site = 'north' INTO $upstream"
  },
  "storeAndForwardConfiguration": {"timeToLiveSecs": 600}
})json";

std::shared_ptr<const RoutesConfig> InForce() { return *CompileRoutesConfig(7, kRoutes); }

v1::TestRouteRequest FromModule(const std::string& module, const std::string& output,
                                const std::string& body) {
  v1::TestRouteRequest request;
  common::v1::Message* message = request.mutable_message();
  message->mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  message->mutable_source()->set_device_id("edge-1");
  message->mutable_source()->set_module_id(module);
  message->mutable_source()->set_output_name(output);
  message->set_body(body);
  (*message->mutable_system_properties())["contentType"] = "application/json";
  (*message->mutable_system_properties())["contentEncoding"] = "utf-8";
  return request;
}

const v1::RouteVerdict& Verdict(const v1::TestRouteResponse& response, const std::string& name) {
  for (const v1::RouteVerdict& v : response.routes()) {
    if (v.name() == name) return v;
  }
  static const v1::RouteVerdict none;
  ADD_FAILURE() << "no route " << name;
  return none;
}

TEST(RouteTesterTest, SaysWhereAMessageGoesAndWhyEachRouteDidOrDidNotMatch) {
  absl::StatusOr<v1::TestRouteResponse> response =
      TestRoute(FromModule("sensor", "out1", R"({"temperature": 35})"), InForce());

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->source_path(), "/messages/modules/sensor/outputs/out1/");
  EXPECT_EQ(response->desired_version(), 7);
  ASSERT_EQ(response->destinations_size(), 1);
  EXPECT_EQ(response->destinations(0).endpoint(),
            "BrokeredEndpoint(\"/modules/filter/inputs/in1\")");
  EXPECT_FALSE(response->destinations(0).has_priority());
  EXPECT_EQ(response->destinations(0).ttl_seconds(), 600);
  ASSERT_EQ(response->routes_size(), 4);
  EXPECT_EQ(Verdict(*response, "hot").outcome(), "matched");
  EXPECT_EQ(Verdict(*response, "sensors").outcome(), "matched");
  EXPECT_EQ(Verdict(*response, "alerts").outcome(), "source mismatch");
  EXPECT_THAT(Verdict(*response, "alerts").detail(),
              HasSubstr("/messages/modules/filter/outputs/alert"));
  EXPECT_THAT(Verdict(*response, "alerts").route(), HasSubstr("INTO $upstream"));
  EXPECT_EQ(Verdict(*response, "tagged").outcome(), "condition Undefined");
  EXPECT_THAT(Verdict(*response, "tagged").undefined_references(), ::testing::ElementsAre("site"));
}

TEST(RouteTesterTest, AMessageNoRouteMatchesHasNoDestination) {
  absl::StatusOr<v1::TestRouteResponse> response =
      TestRoute(FromModule("other", "", R"({"temperature": 20})"), InForce());

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->destinations_size(), 0);
  EXPECT_EQ(Verdict(*response, "hot").outcome(), "condition False");
}

TEST(RouteTesterTest, ABodyWithoutJsonContentTypeCannotBeQueried) {
  v1::TestRouteRequest request = FromModule("sensor", "", R"({"temperature": 35})");
  request.mutable_message()->mutable_system_properties()->erase("contentType");

  absl::StatusOr<v1::TestRouteResponse> response = TestRoute(request, InForce());

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(Verdict(*response, "hot").outcome(), "body not JSON");
}

TEST(RouteTesterTest, ADocumentInTheRequestIsTestedInsteadOfTheRoutesInForce) {
  v1::TestRouteRequest request = FromModule("filter", "alert", "{}");
  request.set_desired_json(
      R"({"schemaVersion": "1.0", "routes": {"all": "FROM /* INTO $upstream"}})");

  absl::StatusOr<v1::TestRouteResponse> response = TestRoute(request, nullptr);

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->desired_version(), 0);
  ASSERT_EQ(response->destinations_size(), 1);
  EXPECT_EQ(response->destinations(0).endpoint(), "$upstream");
}

TEST(RouteTesterTest, BadRequestsGetSpecificErrors) {
  v1::TestRouteRequest no_kind = FromModule("sensor", "", "{}");
  no_kind.mutable_message()->mutable_source()->clear_kind();
  EXPECT_THAT(std::string(TestRoute(no_kind, InForce()).status().message()),
              HasSubstr("message.source.kind"));
  v1::TestRouteRequest no_device = FromModule("sensor", "", "{}");
  no_device.mutable_message()->mutable_source()->clear_device_id();
  EXPECT_EQ(TestRoute(no_device, InForce()).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(TestRoute(FromModule("sensor", "", "{}"), nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::TestRouteRequest bad_document = FromModule("sensor", "", "{}");
  bad_document.set_desired_json(
      R"({"schemaVersion": "1.1", "routes": {"r": "FROM /x INTO nowhere"}})");
  absl::Status invalid = TestRoute(bad_document, InForce()).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(invalid.message()), HasSubstr("desired_json: "));
  EXPECT_THAT(std::string(invalid.message()), HasSubstr("'r'"));
}

}  // namespace
}  // namespace edge::router
