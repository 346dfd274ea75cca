#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/hub/plugin/hub_plugin.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;

TEST(PluginOptionsTest, ParsesWhatTheLauncherWrites) {
  absl::StatusOr<PluginOptions> options = PluginOptions::Parse({{"edge_home", "/h"},
                                                                {"grpc_listen", "unix:/h/x.sock"},
                                                                {"wake_socket", "/h/w.sock"},
                                                                {"plain_port", "1883"},
                                                                {"log_level", "debug"}});

  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->edge_home, "/h");
  EXPECT_EQ(options->grpc_listen, "unix:/h/x.sock");
  EXPECT_EQ(options->wake_socket, "/h/w.sock");
  EXPECT_EQ(options->plain_port, 1883);
  EXPECT_EQ(options->log_level, "debug");
}

TEST(PluginOptionsTest, UnknownOptionIsRejectedNamingIt) {
  absl::StatusOr<PluginOptions> options =
      PluginOptions::Parse({{"edge_home", "/h"}, {"wake_socket", "/h/w.sock"}, {"colour", "blue"}});

  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(options.status().message()), HasSubstr("plugin_opt_colour"));
}

TEST(PluginOptionsTest, MissingWakeSocketIsRejected) {
  absl::StatusOr<PluginOptions> options = PluginOptions::Parse({{"edge_home", "/h"}});

  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(options.status().message()), HasSubstr("plugin_opt_wake_socket"));
}

TEST(PluginOptionsTest, BadPortIsRejected) {
  absl::StatusOr<PluginOptions> options = PluginOptions::Parse(
      {{"edge_home", "/h"}, {"wake_socket", "/h/w.sock"}, {"plain_port", "eighty"}});

  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(options.status().message()), HasSubstr("plugin_opt_plain_port"));
}

}  // namespace
}  // namespace edge::hub
