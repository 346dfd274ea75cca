#include "cli/route_commands.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::cli {
namespace {

using ::testing::HasSubstr;

TEST(RouteTestMessageTest, SourceFormsNameTheSender) {
  absl::StatusOr<common::v1::Message> device = RouteTestMessage({.source = "sensor-1"});
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->source().kind(), common::v1::MESSAGE_KIND_TELEMETRY);
  EXPECT_EQ(device->source().device_id(), "sensor-1");
  EXPECT_EQ(device->source().module_id(), "");

  absl::StatusOr<common::v1::Message> output = RouteTestMessage({.source = "edge/filter/alert"});
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(output->source().device_id(), "edge");
  EXPECT_EQ(output->source().module_id(), "filter");
  EXPECT_EQ(output->source().output_name(), "alert");

  absl::StatusOr<common::v1::Message> twin = RouteTestMessage({.source = "twin:edge/filter"});
  ASSERT_TRUE(twin.ok()) << twin.status();
  EXPECT_EQ(twin->source().kind(), common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION);
  EXPECT_EQ(twin->source().module_id(), "filter");
}

TEST(RouteTestMessageTest, PropertiesAndAJsonBody) {
  absl::StatusOr<common::v1::Message> message =
      RouteTestMessage({.source = "d",
                        .properties = {"site=north", "empty="},
                        .system_properties = {"messageId=m1"},
                        .body = R"({"t": 1})"});
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->application_properties().at("site"), "north");
  EXPECT_EQ(message->application_properties().at("empty"), "");
  EXPECT_EQ(message->system_properties().at("messageId"), "m1");
  // $body queries need these; the sender would set them.
  EXPECT_EQ(message->system_properties().at("contentType"), "application/json");
  EXPECT_EQ(message->system_properties().at("contentEncoding"), "utf-8");

  absl::StatusOr<common::v1::Message> explicit_type = RouteTestMessage(
      {.source = "d", .system_properties = {"contentType=text/plain"}, .body = "x"});
  ASSERT_TRUE(explicit_type.ok());
  EXPECT_EQ(explicit_type->system_properties().at("contentType"), "text/plain");
  EXPECT_FALSE(explicit_type->system_properties().contains("contentEncoding"));
}

TEST(RouteTestMessageTest, MalformedInputIsRefusedSayingWhy) {
  struct Case {
    RouteTestFlags flags;
    const char* says;
  };
  const Case cases[] = {
      {{.source = "a/b/c/d"}, "expected DEVICE"},
      {{.source = "twin:a/b/c"}, "expected DEVICE"},
      {{.source = "bad#id"}, "--source"},
      {{.source = "a/b/"}, "output name is empty"},
      {{.source = ""}, "--source"},
      {{.source = "d", .properties = {"novalue"}}, "--prop \"novalue\": expected key=value"},
      {{.source = "d", .system_properties = {"=x"}}, "--sys"},
  };
  for (const Case& c : cases) {
    absl::Status status = RouteTestMessage(c.flags).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.flags.source;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.says)) << c.flags.source;
  }
}

TEST(UpstreamLinkLineTest, SaysWhetherTheLinkIsUpAndSinceWhen) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  router::v1::UpstreamLinkStats link;
  EXPECT_EQ(UpstreamLinkLine(link, now),
            "upstream link: not configured ([device] connection_string is empty)");

  link.set_configured(true);
  link.set_address("hub.example:8883");
  link.set_device_id("edge-1");
  link.set_transport("tls");
  link.set_authentication("sas");
  link.set_online(true);
  link.set_since_unix_ms(absl::ToUnixMillis(now - absl::Minutes(5)));
  link.set_acked(120);
  link.set_in_flight(3);
  EXPECT_EQ(UpstreamLinkLine(link, now),
            "upstream link: online for 5 minutes (hub.example:8883 as edge-1, tls, sas); 120 "
            "acked, 0 rejected, 3 in flight");

  link.set_online(false);
  link.set_since_unix_ms(absl::ToUnixMillis(now - absl::Seconds(10)));
  link.set_last_error("CONNACK refused: Connection Refused: not authorised.");
  EXPECT_EQ(UpstreamLinkLine(link, now),
            "upstream link: offline for 10 seconds (hub.example:8883 as edge-1, tls, sas): "
            "CONNACK refused: Connection Refused: not authorised.");
}

router::v1::RoutedMessage FilterAlert(const std::string& body, int64_t body_size) {
  router::v1::RoutedMessage message;
  message.set_routed_unix_ms(1'800'000'000'123);  // 2027-01-15T08:00:00.123Z
  message.mutable_source()->set_device_id("edge-device");
  message.mutable_source()->set_module_id("filter");
  message.mutable_source()->set_output_name("alert");
  message.set_source_path("/messages/modules/filter/outputs/alert/");
  message.add_destinations()->set_endpoint("$upstream");
  message.add_routes("alertsToUpstream");
  (*message.mutable_system_properties())["contentType"] = "application/json";
  (*message.mutable_application_properties())["MessageType"] = "Alert";
  message.set_body_preview(body);
  message.set_body_size(body_size);
  return message;
}

TEST(BriefMonitorLineTest, TimeSourceDestinationsRoutesApplicationPropertiesAndTheBody) {
  const std::string body = R"({"t":"21 °C"})";
  EXPECT_EQ(BriefMonitorLine(FilterAlert(body, static_cast<int64_t>(body.size()))),
            R"(08:00:00.123 edge-device/filter:alert -> $upstream [alertsToUpstream] )"
            R"(MessageType=Alert {"t":"21 °C"})");
}

TEST(BriefMonitorLineTest, ACutPreviewEndsWithDotsAndBinaryIsEscaped) {
  EXPECT_THAT(BriefMonitorLine(FilterAlert("{\"t\":", 300)), ::testing::EndsWith(R"({"t":...)"));
  EXPECT_THAT(BriefMonitorLine(FilterAlert(std::string("a\0\n", 3), 3)),
              ::testing::EndsWith(R"(a\000\n)"));
}

}  // namespace
}  // namespace edge::cli
