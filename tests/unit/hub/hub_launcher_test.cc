#include "services/hub/hub_launcher.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace edge::hub {
namespace {

using ::edge::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class HubLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(plugin_) << "not really a plugin"; }

  // A [hub] section naming an existing plugin file, plus `extra` lines.
  absl::StatusOr<HubConfig> Load(const std::string& extra) {
    absl::StatusOr<Config> config =
        Config::Parse(absl::StrCat("[hub]\nplugin = \"", plugin_.string(), "\"\n", extra));
    if (!config.ok()) return config.status();
    return LoadHubConfig(*config, home_.path(), "info");
  }

  TempDir home_;
  std::filesystem::path plugin_ = home_.path() / "libedge_hub_plugin.so";
};

TEST_F(HubLauncherTest, DefaultsListenOnTheHubSocketWithoutAPlainListener) {
  absl::StatusOr<HubConfig> hub = Load("");

  ASSERT_TRUE(hub.ok()) << hub.status();
  EXPECT_EQ(hub->grpc.grpc_target, absl::StrCat("unix:", home_.path().string(), "/run/hub.sock"));
  EXPECT_EQ(hub->plain_port, 0);
  EXPECT_EQ(hub->mosquitto, "/usr/sbin/mosquitto");
  EXPECT_EQ(hub->wake_socket, home_.path() / "run/hub-wake.sock");
  EXPECT_FALSE(hub->user.empty());
}

TEST_F(HubLauncherTest, UnknownKeyIsRejectedNamingIt) {
  absl::StatusOr<HubConfig> hub = Load("bogus = 1\n");

  EXPECT_EQ(hub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(hub.status().message()), HasSubstr("hub.bogus"));
}

TEST_F(HubLauncherTest, PlainPortOutOfRangeIsRejectedNamingIt) {
  absl::StatusOr<HubConfig> hub = Load("plain_port = 70000\n");

  EXPECT_EQ(hub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(hub.status().message()), HasSubstr("hub.plain_port"));
}

TEST_F(HubLauncherTest, MissingBrokerBinaryIsRejectedNamingTheKey) {
  absl::StatusOr<HubConfig> hub = Load("mosquitto = \"/nonexistent/mosquitto\"\n");

  EXPECT_EQ(hub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(hub.status().message()), HasSubstr("hub.mosquitto"));
}

TEST_F(HubLauncherTest, PathWithWhitespaceIsRejectedBecauseTheBrokerConfigCannotHoldIt) {
  absl::StatusOr<HubConfig> hub = Load("listen = \"unix:/tmp/a b.sock\"\n");

  EXPECT_EQ(hub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(hub.status().message()), HasSubstr("hub.listen"));
}

TEST_F(HubLauncherTest, BrokerConfHasTheSettingsTheDocsRequire) {
  absl::StatusOr<HubConfig> hub = Load("");
  ASSERT_TRUE(hub.ok()) << hub.status();

  const std::string conf = RenderBrokerConf(*hub);

  EXPECT_THAT(conf, HasSubstr("per_listener_settings false\n"));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("user ", hub->user, "\n")));
  EXPECT_THAT(conf, HasSubstr("allow_anonymous false\n"));
  EXPECT_THAT(conf, HasSubstr("max_queued_messages 0\n"));
  EXPECT_THAT(conf, HasSubstr("max_queued_bytes "));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("listener 0 ", hub->wake_socket.string(), "\n")));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("plugin ", plugin_.string(), "\n")));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("plugin_opt_edge_home ", home_.path().string(), "\n")));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("plugin_opt_grpc_listen ", hub->grpc.grpc_target)));
  EXPECT_THAT(conf, Not(HasSubstr("127.0.0.1")));
}

TEST_F(HubLauncherTest, PlainListenerIsBoundToLoopbackOnlyWhenConfigured) {
  absl::StatusOr<HubConfig> hub = Load("plain_port = 18999\n");
  ASSERT_TRUE(hub.ok()) << hub.status();

  EXPECT_THAT(RenderBrokerConf(*hub), HasSubstr("listener 18999 127.0.0.1\n"));
}

}  // namespace
}  // namespace edge::hub
