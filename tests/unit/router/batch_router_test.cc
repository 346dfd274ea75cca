// Routing an ingest batch into store appends: queue naming, TTLs, dropped messages, journal
// sequences and malformed batches.
#include "services/router/batch_router.h"

#include "absl/strings/str_cat.h"
#include "common/retry_backoff.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/router/router_test_builders.h"

namespace edge::router {
namespace {

using ::edge::router::testing::Batch;
using ::edge::router::testing::DesiredBuilder;
using ::edge::router::testing::DeviceMessage;
using ::edge::router::testing::kModuleBInput;
using ::edge::router::testing::ModuleMessage;
using ::edge::router::testing::TwinChange;
using ::testing::HasSubstr;

std::shared_ptr<const RoutesConfig> Config(const std::string& desired) {
  auto config = CompileRoutesConfig(1, desired);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : nullptr;
}

// A -> B (priority 1, 60 s) and all telemetry -> $upstream (no priority, global 7200 s).
std::shared_ptr<const RoutesConfig> TwoRoutes() {
  return Config(
      DesiredBuilder()
          .Route("toB", absl::StrCat("FROM /messages/modules/A/* INTO ", kModuleBInput), 1, 60)
          .Route("up", "FROM /messages/* INTO $upstream")
          .GlobalTtl(7200)
          .Json());
}

TEST(QueueTargetForTest, UpstreamWithoutPriorityIsTheDefaultQueue) {
  store::v1::QueueTarget target = QueueTargetFor({"$upstream", std::nullopt, 7200});
  EXPECT_EQ(target.queue().endpoint(), "$upstream");
  EXPECT_FALSE(target.queue().has_priority());
  EXPECT_EQ(target.ttl_seconds(), 7200);
}

TEST(QueueTargetForTest, ModuleInputQueueIsTheCanonicalEndpointAtItsPriority) {
  store::v1::QueueTarget target = QueueTargetFor({kModuleBInput, 0u, 0});
  EXPECT_EQ(target.queue().endpoint(), R"(BrokeredEndpoint("/modules/B/inputs/in1"))");
  ASSERT_TRUE(target.queue().has_priority());
  EXPECT_EQ(target.queue().priority(), 0u);
  EXPECT_EQ(target.ttl_seconds(), 0);  // never expires
}

TEST(QueueNameTest, SaysThePriority) {
  EXPECT_EQ(QueueName(QueueTargetFor({"$upstream", 3u, 0}).queue()), "$upstream priority 3");
  EXPECT_EQ(QueueName(QueueTargetFor({"$upstream", std::nullopt, 0}).queue()),
            "$upstream default priority");
}

TEST(RouteBatchTest, EachMessageGoesToEveryQueueItsRoutesChose) {
  auto config = TwoRoutes();
  absl::StatusOr<RoutedBatch> routed = RouteBatch(
      Batch("j", 10, {ModuleMessage("A", "out1", "a"), DeviceMessage("leaf", "d")}), config.get());
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ(routed->routed, 2u);
  EXPECT_EQ(routed->dropped, 0u);
  EXPECT_EQ(routed->first_sequence, 10u);
  EXPECT_EQ(routed->last_sequence, 11u);
  ASSERT_EQ(routed->appends.size(), 1u);
  const store::v1::AppendMessagesRequest& append = routed->appends[0];
  EXPECT_EQ(append.journal_id(), "j");
  EXPECT_EQ(append.first_sequence(), 10u);
  ASSERT_EQ(append.messages_size(), 2);
  const auto& a = append.messages(0);
  EXPECT_EQ(a.message().body(), "a");
  ASSERT_EQ(a.queues_size(), 2);
  EXPECT_EQ(a.queues(0).queue().endpoint(), kModuleBInput);
  EXPECT_EQ(a.queues(0).queue().priority(), 1u);
  EXPECT_EQ(a.queues(0).ttl_seconds(), 60);
  EXPECT_EQ(a.queues(1).queue().endpoint(), "$upstream");
  EXPECT_FALSE(a.queues(1).queue().has_priority());
  EXPECT_EQ(a.queues(1).ttl_seconds(), 7200);
  ASSERT_EQ(append.messages(1).queues_size(), 1);
  EXPECT_EQ(append.messages(1).queues(0).queue().endpoint(), "$upstream");
}

TEST(RouteBatchTest, UnroutedMessagesAreDroppedAndSplitTheAppendKeepingSequences) {
  auto config = TwoRoutes();
  absl::StatusOr<RoutedBatch> routed =
      RouteBatch(Batch("j", 5,
                       {TwinChange("leaf"), DeviceMessage("leaf", "1"), TwinChange("leaf"),
                        DeviceMessage("leaf", "3"), DeviceMessage("leaf", "4"), TwinChange("x")}),
                 config.get());
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ(routed->routed, 3u);
  EXPECT_EQ(routed->dropped, 3u);
  EXPECT_EQ(routed->last_sequence, 10u);
  ASSERT_EQ(routed->appends.size(), 2u);
  EXPECT_EQ(routed->appends[0].first_sequence(), 6u);
  ASSERT_EQ(routed->appends[0].messages_size(), 1);
  EXPECT_EQ(routed->appends[0].messages(0).message().body(), "1");
  EXPECT_EQ(routed->appends[1].first_sequence(), 8u);
  ASSERT_EQ(routed->appends[1].messages_size(), 2);
  EXPECT_EQ(routed->appends[1].messages(1).message().body(), "4");
}

TEST(RouteBatchTest, WithoutConfigurationEverythingIsDropped) {
  absl::StatusOr<RoutedBatch> routed =
      RouteBatch(Batch("j", 1, {DeviceMessage("leaf", "x")}), nullptr);
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ(routed->dropped, 1u);
  EXPECT_TRUE(routed->appends.empty());
}

TEST(RouteBatchTest, MalformedBatchesAreInvalidArgumentNamingTheField) {
  auto config = TwoRoutes();
  struct Case {
    v1::IngestBatch batch;
    const char* field;
  };
  common::v1::Message no_kind = DeviceMessage("leaf", "x");
  no_kind.mutable_source()->clear_kind();
  common::v1::Message no_device = DeviceMessage("", "x");
  std::vector<Case> cases = {
      {Batch("", 1, {DeviceMessage("leaf", "x")}), "batch.journal_id"},
      {Batch("j", 0, {DeviceMessage("leaf", "x")}), "batch.first_sequence"},
      {Batch("j", 1, {}), "batch.messages"},
      {Batch("j", UINT64_MAX, {DeviceMessage("l", "1"), DeviceMessage("l", "2")}),
       "batch.first_sequence"},
      {Batch("j", 1, {DeviceMessage("leaf", "x"), no_kind}), "batch.messages[1].source.kind"},
      {Batch("j", 1, {no_device}), "batch.messages[0].source.device_id"},
  };
  for (Case& c : cases) {
    absl::StatusOr<RoutedBatch> routed = RouteBatch(c.batch, config.get());
    EXPECT_EQ(routed.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(routed.status().message(), HasSubstr(c.field));
  }
}

TEST(RetryBackoffTest, DoublesUpToTheMaximumAndResets) {
  RetryBackoff backoff({.initial = absl::Milliseconds(100), .max = absl::Milliseconds(350)});
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(350));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(350));
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
}

}  // namespace
}  // namespace edge::router
