// [router] configuration keys.
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
