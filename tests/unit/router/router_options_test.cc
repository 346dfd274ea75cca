// [router] configuration keys.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/router/router_server.h"

namespace edge::router {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<RouterOptions> FromText(const std::string& text) {
  absl::StatusOr<Config> config = Config::Parse(text);
  if (!config.ok()) return config.status();
  return RouterOptions::FromConfig(*config, "/tmp/edge-home");
}

TEST(RouterOptionsTest, DefaultsListenOnTheRunDirectoryAndFindTheStoreThere) {
  absl::StatusOr<RouterOptions> options = FromText("");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen.grpc_target, "unix:/tmp/edge-home/run/router.sock");
  EXPECT_EQ(options->store.grpc_target, "unix:/tmp/edge-home/run/store.sock");
  EXPECT_EQ(options->store_retry.initial, absl::Milliseconds(50));
  EXPECT_EQ(options->store_retry.max, absl::Seconds(5));
  EXPECT_EQ(options->device.id, "edge-device");
}

TEST(RouterOptionsTest, TheDefaultConfigFileIsAccepted) {
  absl::StatusOr<RouterOptions> options = FromText(Config::DefaultText());
  EXPECT_TRUE(options.ok()) << options.status();
}

TEST(RouterOptionsTest, KeysAreRead) {
  absl::StatusOr<RouterOptions> options = FromText(
      "[store]\nlisten = \"127.0.0.1:7001\"\n[router]\nlisten = \"127.0.0.1:7002\"\n"
      "store_retry_initial_seconds = 0.2\nstore_retry_max_seconds = 1\n");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->store.grpc_target, "127.0.0.1:7001");
  EXPECT_EQ(options->listen.grpc_target, "127.0.0.1:7002");
  EXPECT_EQ(options->store_retry.initial, absl::Milliseconds(200));
  EXPECT_EQ(options->store_retry.max, absl::Seconds(1));
}

TEST(RouterOptionsTest, PriorityMaxPassedOverIsReadAndBounded) {
  absl::StatusOr<RouterOptions> options = FromText("[router]\npriority_max_passed_over = 3\n");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->delivery.max_passed_over, 3);
  EXPECT_EQ(FromText("").value().delivery.max_passed_over, 10);

  absl::StatusOr<RouterOptions> zero = FromText("[router]\npriority_max_passed_over = 0\n");
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zero.status().message(), HasSubstr("router.priority_max_passed_over"));
}

constexpr char kKey[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

// A config of device edge-1 with connection string `fields` (`SharedAccessKey=` is followed by
// kKey) and `router_keys` in [router].
std::string Upstream(const std::string& fields, const std::string& router_keys = "") {
  return absl::StrCat(
      "[device]\nid = \"edge-1\"\nconnection_string = \"",
      absl::StrReplaceAll(fields, {{"SharedAccessKey=", absl::StrCat("SharedAccessKey=", kKey)}}),
      "\"\n[router]\n", router_keys);
}

TEST(RouterOptionsTest, NoConnectionStringNoUpstreamLink) {
  absl::StatusOr<RouterOptions> options = FromText("[router]\nupstream_port = 1883\n");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->upstream.has_value());
}

TEST(RouterOptionsTest, UpstreamLinkFromTheConnectionStringAndTheUpstreamKeys) {
  absl::StatusOr<RouterOptions> options = FromText(
      Upstream("HostName=hub.example;DeviceId=edge-1;SharedAccessKey=;GatewayHostName=parent",
               "upstream_port = 1883\nupstream_plain = true\nupstream_keep_alive_seconds = 30\n"
               "upstream_sas_lifetime_seconds = 600\nupstream_retry_initial_seconds = 0.5\n"
               "upstream_retry_max_seconds = 30\nupstream_connect_timeout_seconds = 3\n"));
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_TRUE(options->upstream.has_value());
  const UpstreamLinkOptions& link = *options->upstream;
  EXPECT_EQ(link.host, "parent");  // GatewayHostName wins over HostName for where to connect
  EXPECT_EQ(link.hub_host_name, "hub.example");
  EXPECT_EQ(link.shared_access_key, kKey);
  EXPECT_EQ(link.port, 1883);
  EXPECT_TRUE(link.plain);
  EXPECT_EQ(link.keep_alive, absl::Seconds(30));
  EXPECT_EQ(link.sas_lifetime, absl::Minutes(10));
  EXPECT_EQ(link.retry.initial, absl::Milliseconds(500));
  EXPECT_EQ(link.retry.max, absl::Seconds(30));
  EXPECT_EQ(link.connect_timeout, absl::Seconds(3));
}

TEST(RouterOptionsTest, UpstreamDefaults) {
  absl::StatusOr<RouterOptions> options =
      FromText(Upstream("HostName=hub.example;DeviceId=edge-1;SharedAccessKey="));
  ASSERT_TRUE(options.ok()) << options.status();
  const UpstreamLinkOptions& link = *options->upstream;
  EXPECT_EQ(link.host, "hub.example");
  EXPECT_EQ(link.port, 8883);
  EXPECT_FALSE(link.plain);
  EXPECT_EQ(link.keep_alive, absl::Seconds(60));
  EXPECT_EQ(link.sas_lifetime, absl::Hours(1));
  EXPECT_EQ(link.retry.initial, absl::Seconds(1));
  EXPECT_EQ(link.retry.max, absl::Seconds(60));
  EXPECT_EQ(link.connect_timeout, absl::Seconds(10));
}

TEST(RouterOptionsTest, BadUpstreamSettingsNameTheKey) {
  const std::string sas = "HostName=h;DeviceId=edge-1;SharedAccessKey=";
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"[device]\nid = \"edge-1\"\nconnection_string = "
            "\"HostName=h;DeviceId=edge-1;SharedAccessKey=not-base64\"\n",
            "SharedAccessKey"},
           {Upstream("HostName=h;DeviceId=edge-1"), "device.connection_string: no SharedAccessKey"},
           {Upstream("HostName=h;DeviceId=edge-1", "upstream_cert_file = \"/etc/hostname\"\n"),
            "upstream_key_file go together"},
           {Upstream("HostName=h;DeviceId=edge-1",
                     "upstream_cert_file = \"/nonexistent.pem\"\n"
                     "upstream_key_file = \"/nonexistent.key\"\n"),
            "router.upstream_cert_file: cannot read"},
           {Upstream(sas, "upstream_ca_file = \"/nonexistent.pem\"\n"), "router.upstream_ca_file"},
           {Upstream(sas, "upstream_port = 0\n"), "router.upstream_port"},
           {Upstream(sas, "upstream_keep_alive_seconds = 1\n"),
            "router.upstream_keep_alive_seconds"},
           {Upstream(sas, "upstream_retry_initial_seconds = 5\nupstream_retry_max_seconds = 1\n"),
            "router.upstream_retry_max_seconds"},
       }) {
    absl::StatusOr<RouterOptions> options = FromText(text);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(options.status().message(), HasSubstr(key)) << text;
  }
}

TEST(UpstreamTopicTest, ModuleOutputGoesOnTheEdgeDevicesTopicWithItsOrigin) {
  common::v1::Message message;
  message.mutable_source()->set_device_id("edge-1");
  message.mutable_source()->set_module_id("filter");
  message.mutable_source()->set_output_name("out1");
  (*message.mutable_system_properties())["messageId"] = "m 1";
  (*message.mutable_application_properties())["temp"] = "21";
  // A sender cannot pose as another origin: the link's values replace the sender's.
  (*message.mutable_application_properties())["edge-origin-module"] = "spoofed";
  EXPECT_EQ(UpstreamTopic("edge-1", message),
            "devices/edge-1/messages/events/%24.mid=m%201&%24.cdid=edge-1&%24.cmid=filter&"
            "edge-origin-device=edge-1&edge-origin-module=filter&edge-origin-output=out1&"
            "temp=21");
}

TEST(UpstreamTopicTest, LeafDeviceTelemetryHasNoModule) {
  common::v1::Message message;
  message.mutable_source()->set_device_id("leaf-1");
  EXPECT_EQ(UpstreamTopic("edge-1", message),
            "devices/edge-1/messages/events/%24.cdid=leaf-1&edge-origin-device=leaf-1");
}

TEST(RouterOptionsTest, UnknownKeyIsNamed) {
  absl::StatusOr<RouterOptions> options = FromText("[router]\nroutes = 1\n");
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(options.status().message(), HasSubstr("router.routes"));
}

TEST(RouterOptionsTest, RetryMaximumBelowInitialIsRejected) {
  absl::StatusOr<RouterOptions> options =
      FromText("[router]\nstore_retry_initial_seconds = 2\nstore_retry_max_seconds = 1\n");
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(options.status().message(), HasSubstr("router.store_retry_max_seconds"));
}

}  // namespace
}  // namespace edge::router
