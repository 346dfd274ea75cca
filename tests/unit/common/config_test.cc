#include "common/config.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ConfigTest, AbsentKeysTakeTheirDefaults) {
  Config config = *Config::Parse("");
  ConfigSection store = config.Section("store");
  EXPECT_EQ(*store.GetString("listen", "unix"), "unix");
  EXPECT_EQ(*store.GetInt("page", 7, 1, 10), 7);
  EXPECT_EQ(*store.GetBool("flag", true), true);
  EXPECT_EQ(*store.GetSeconds("grace", absl::Seconds(5), absl::ZeroDuration()), absl::Seconds(5));
  EXPECT_TRUE(store.CheckNoUnknownKeys().ok());
}

TEST(ConfigTest, ReadsValuesOfEachType) {
  Config config =
      *Config::Parse("[store]\nlisten = \"unix:/x.sock\"\npage = 9\nflag = false\ngrace = 1.5\n");
  ConfigSection store = config.Section("store");
  EXPECT_EQ(*store.GetString("listen", "unix"), "unix:/x.sock");
  EXPECT_EQ(*store.GetInt("page", 7, 1, 10), 9);
  EXPECT_EQ(*store.GetBool("flag", true), false);
  EXPECT_EQ(*store.GetSeconds("grace", absl::Seconds(5), absl::ZeroDuration()),
            absl::Milliseconds(1500));
  EXPECT_TRUE(store.CheckNoUnknownKeys().ok());
}

TEST(ConfigTest, UnknownKeyIsNamedWithItsSection) {
  Config config = *Config::Parse("[store]\nlisten = \"unix\"\nlistne = \"x\"\n");
  ConfigSection store = config.Section("store");
  ASSERT_TRUE(store.GetString("listen", "unix").ok());
  absl::Status status = store.CheckNoUnknownKeys();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), HasSubstr("store.listne: unknown key at 3:1"));
}

TEST(ConfigTest, WrongTypeIsNamed) {
  ConfigSection store = Config::Parse("[store]\npage = \"ten\"\n")->Section("store");
  absl::StatusOr<int64_t> page = store.GetInt("page", 7, 1, 10);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(page.status()), HasSubstr("store.page: expected an integer"));
}

TEST(ConfigTest, OutOfRangeIsNamed) {
  ConfigSection store = Config::Parse("[store]\npage = 11\n")->Section("store");
  EXPECT_THAT(Message(store.GetInt("page", 7, 1, 10).status()),
              HasSubstr("store.page: 11 is outside [1, 10]"));
}

TEST(ConfigTest, EnumOutsideItsValuesIsNamed) {
  ConfigSection store = Config::Parse("[store]\nmode = \"x\"\n")->Section("store");
  EXPECT_THAT(Message(store.GetEnum("mode", "a", {"a", "b"}).status()),
              HasSubstr("store.mode: \"x\" is not one of a, b"));
}

TEST(ConfigTest, NegativeSecondsAreRejected) {
  ConfigSection store = Config::Parse("[store]\ngrace = -1\n")->Section("store");
  EXPECT_EQ(store.GetSeconds("grace", absl::Seconds(5), absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConfigTest, UnknownSectionIsRejected) {
  absl::StatusOr<Config> config = Config::Parse("[stroe]\nx = 1\n", "config.toml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(config.status()), HasSubstr("stroe: unknown section"));
}

TEST(ConfigTest, SyntaxErrorHasLineAndColumn) {
  absl::StatusOr<Config> config = Config::Parse("[store]\nlisten = \n", "config.toml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(config.status()), HasSubstr("config.toml:2:"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(Config::LoadFile("/nonexistent/config.toml").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ConfigTest, DefaultTextParsesAndNamesOnlyKnownKeys) {
  absl::StatusOr<Config> config = Config::Parse(Config::DefaultText());
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<DeviceConfig> device = DeviceConfig::FromConfig(*config);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->id, "edge-device");
}

TEST(DeviceConfigTest, EmptyIdIsRejected) {
  absl::StatusOr<DeviceConfig> device =
      DeviceConfig::FromConfig(*Config::Parse("[device]\nid = \"\"\n"));
  EXPECT_THAT(Message(device.status()), HasSubstr("device.id"));
}

TEST(DeviceConfigTest, NoConnectionStringMeansNoUpstream) {
  absl::StatusOr<DeviceConfig> device = DeviceConfig::FromConfig(*Config::Parse(""));
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_FALSE(device->upstream.has_value());
}

TEST(DeviceConfigTest, ConnectionStringIsParsed) {
  absl::StatusOr<DeviceConfig> device = DeviceConfig::FromConfig(*Config::Parse(
      "[device]\nid = \"edge-1\"\nconnection_string = "
      "\"HostName=hub.example;DeviceId=edge-1;SharedAccessKey=a2V5=;GatewayHostName=parent\"\n"));
  ASSERT_TRUE(device.ok()) << device.status();
  ASSERT_TRUE(device->upstream.has_value());
  EXPECT_EQ(device->upstream->host_name, "hub.example");
  EXPECT_EQ(device->upstream->device_id, "edge-1");
  EXPECT_EQ(device->upstream->shared_access_key, "a2V5=");  // `=` inside a value is kept
  EXPECT_EQ(device->upstream->gateway_host_name, "parent");
}

TEST(DeviceConfigTest, ConnectionStringOfAnotherDeviceIsRejected) {
  absl::StatusOr<DeviceConfig> device = DeviceConfig::FromConfig(*Config::Parse(
      "[device]\nid = \"edge-1\"\nconnection_string = \"HostName=h;DeviceId=edge-2\"\n"));
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(device.status()), HasSubstr("device.connection_string"));
  EXPECT_THAT(Message(device.status()), HasSubstr("edge-2"));
}

TEST(DeviceConnectionStringTest, MalformedStringsAreRejectedWithTheReason) {
  for (const auto& [text, reason] : std::vector<std::pair<std::string, std::string>>{
           {"DeviceId=d", "no HostName"},
           {"HostName=h", "no DeviceId"},
           {"HostName=h;DeviceId=", "no DeviceId"},
           {"HostName=h;;DeviceId=d", "is not Key=value"},
           {"HostName=h;DeviceId", "is not Key=value"},
           {"HostName=h;HostName=i;DeviceId=d", "given twice"},
           {"HostName=h;DeviceId=d;ModuleId=m", "ModuleId is not one of"},
       }) {
    absl::StatusOr<DeviceConnectionString> parsed = ParseDeviceConnectionString(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(Message(parsed.status()), HasSubstr(reason)) << text;
  }
}

}  // namespace
}  // namespace edge
