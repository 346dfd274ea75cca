#include "services/hub/hub_launcher.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/certs.h"
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

TEST_F(HubLauncherTest, TheDefaultConfigFileIsAValidHubConfig) {
  std::string text = Config::DefaultText();
  const size_t hub_section = text.find("[hub]\n");
  ASSERT_NE(hub_section, std::string::npos);
  text.insert(hub_section + 6, absl::StrCat("plugin = \"", plugin_.string(), "\"\n"));
  absl::StatusOr<Config> config = Config::Parse(text);
  ASSERT_TRUE(config.ok()) << config.status();

  absl::StatusOr<HubConfig> hub = LoadHubConfig(*config, home_.path(), "info");

  ASSERT_TRUE(hub.ok()) << hub.status();
  EXPECT_EQ(hub->sas_port, 8883);
  EXPECT_EQ(hub->x509_port, 8884);
  EXPECT_EQ(hub->bind_address, "");
}

TEST_F(HubLauncherTest, TlsListenersDefaultTo8883And8884WithCertificatesCreatedWhenAbsent) {
  absl::StatusOr<HubConfig> hub = Load("");
  ASSERT_TRUE(hub.ok()) << hub.status();

  EXPECT_TRUE(EdgeCertificatesPresent(CertsDir(home_.path())));
  const std::string conf = RenderBrokerConf(*hub);
  const std::string certs = CertsDir(home_.path()).string();
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("listener 8883\ncertfile ", certs,
                                           "/server.pem\nkeyfile ", certs, "/server.key.pem\n")));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat(
                        "listener 8884\ncertfile ", certs, "/server.pem\nkeyfile ", certs,
                        "/server.key.pem\ncafile ", certs, "/ca.pem\nrequire_certificate true\n")));
  EXPECT_THAT(conf, HasSubstr("use_identity_as_username false\n"));
  EXPECT_THAT(conf, HasSubstr(absl::StrCat("plugin_opt_store unix:", home_.path().string(),
                                           "/run/store.sock\n")));
}

TEST_F(HubLauncherTest, TlsListenersBindTheConfiguredAddressAndPorts) {
  absl::StatusOr<HubConfig> hub =
      Load("bind_address = \"127.0.0.1\"\nsas_port = 18883\nx509_port = 18884\n");
  ASSERT_TRUE(hub.ok()) << hub.status();

  const std::string conf = RenderBrokerConf(*hub);
  EXPECT_THAT(conf, HasSubstr("listener 18883 127.0.0.1\n"));
  EXPECT_THAT(conf, HasSubstr("listener 18884 127.0.0.1\n"));
  EXPECT_THAT(conf, HasSubstr("plugin_opt_sas_listener 127.0.0.1:18883\n"));
  EXPECT_THAT(conf, HasSubstr("plugin_opt_x509_listener 127.0.0.1:18884\n"));
}

TEST_F(HubLauncherTest, NoTlsListenerNeedsNoCertificates) {
  absl::StatusOr<HubConfig> hub = Load("sas_port = 0\nx509_port = 0\n");
  ASSERT_TRUE(hub.ok()) << hub.status();

  EXPECT_FALSE(std::filesystem::exists(CertsDir(home_.path())));
  EXPECT_THAT(RenderBrokerConf(*hub), Not(HasSubstr("certfile")));
}

TEST_F(HubLauncherTest, ConfiguredCertificateThatDoesNotExistIsRejectedNamingTheKey) {
  absl::StatusOr<HubConfig> hub = Load("server_cert = \"/nonexistent/server.pem\"\n");

  EXPECT_EQ(hub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(hub.status().message()), HasSubstr("hub.server_cert"));
}

TEST_F(HubLauncherTest, OnePortForBothTlsListenersIsRejected) {
  absl::StatusOr<HubConfig> hub = Load("sas_port = 9000\nx509_port = 9000\n");

  EXPECT_EQ(hub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(hub.status().message()), HasSubstr("hub.x509_port"));
}

}  // namespace
}  // namespace edge::hub
