// RoutedMessageMonitor: what a Monitor stream gets from a routed batch, its endpoint filter, and
// its bounded buffer.
#include "services/router/monitor.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/router/batch_router.h"
#include "services/router/routes_config.h"
#include "tests/unit/router/router_test_builders.h"

namespace edge::router {
namespace {

using ::edge::router::testing::Batch;
using ::edge::router::testing::DesiredBuilder;
using ::edge::router::testing::DeviceMessage;
using ::edge::router::testing::kModuleBInput;
using ::edge::router::testing::ModuleMessage;
using ::testing::ElementsAre;

// A -> B's input in1 (priority 1), every telemetry message -> $upstream.
std::shared_ptr<const RoutesConfig> Config() {
  return *CompileRoutesConfig(
      1, DesiredBuilder()
             .Route("toB", absl::StrCat("FROM /messages/modules/A/* INTO ", kModuleBInput), 1, 0)
             .Route("up", "FROM /messages/* INTO $upstream")
             .Json());
}

RoutedBatch Routed(std::vector<common::v1::Message> messages) {
  return *RouteBatch(Batch("j1", 7, std::move(messages)), Config().get(), /*explain=*/true);
}

TEST(RoutedMessageMonitorTest, AStreamGetsEachRoutedMessageWithWhereItWentAndWhy) {
  RoutedMessageMonitor monitor;
  int notified = 0;
  auto subscription = monitor.Subscribe("", 10, [&] { ++notified; });
  common::v1::Message message = ModuleMessage("A", "out1", std::string(300, 'x'));
  (*message.mutable_application_properties())["temp"] = "31";

  monitor.Publish(Routed({message}), absl::FromUnixMillis(1234));

  EXPECT_EQ(notified, 1);
  std::optional<v1::MonitorResponse> next = subscription->Next();
  ASSERT_TRUE(next.has_value() && next->has_message());
  const v1::RoutedMessage& routed = next->message();
  EXPECT_EQ(routed.routed_unix_ms(), 1234);
  EXPECT_EQ(routed.source_path(), "/messages/modules/A/outputs/out1/");
  EXPECT_THAT(routed.routes(), ElementsAre("toB", "up"));
  ASSERT_EQ(routed.destinations_size(), 2);
  EXPECT_EQ(routed.destinations(0).endpoint(), kModuleBInput);
  EXPECT_EQ(routed.destinations(0).priority(), 1u);
  EXPECT_EQ(routed.application_properties().at("temp"), "31");
  EXPECT_EQ(routed.body_preview().size(), RoutedMessageMonitor::kBodyPreviewBytes);
  EXPECT_EQ(routed.body_size(), 300u);
  EXPECT_EQ(routed.journal_id(), "j1");
  EXPECT_EQ(routed.sequence(), 7u);
  EXPECT_FALSE(subscription->Next().has_value());
}

TEST(RoutedMessageMonitorTest, AnEndpointFilterKeepsOnlyMessagesRoutedThere) {
  RoutedMessageMonitor monitor;
  auto subscription = monitor.Subscribe(kModuleBInput, 10, [] {});

  monitor.Publish(Routed({DeviceMessage("leaf", "d"), ModuleMessage("A", "o", "a")}), absl::Now());

  std::optional<v1::MonitorResponse> next = subscription->Next();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->message().body_preview(), "a");
  EXPECT_EQ(next->message().sequence(), 8u);
  EXPECT_FALSE(subscription->Next().has_value());
}

TEST(RoutedMessageMonitorTest, AFullBufferDropsAndSaysHowManyBeforeTheNextMessages) {
  RoutedMessageMonitor monitor;
  auto subscription = monitor.Subscribe("", 2, [] {});

  monitor.Publish(Routed({DeviceMessage("leaf", "1"), DeviceMessage("leaf", "2"),
                          DeviceMessage("leaf", "3"), DeviceMessage("leaf", "4")}),
                  absl::Now());

  std::optional<v1::MonitorResponse> first = subscription->Next();
  ASSERT_TRUE(first.has_value() && first->has_dropped());
  EXPECT_EQ(first->dropped().count(), 2u);
  EXPECT_EQ(subscription->Next()->message().body_preview(), "1");
  EXPECT_EQ(subscription->Next()->message().body_preview(), "2");
  EXPECT_FALSE(subscription->Next().has_value());
}

TEST(RoutedMessageMonitorTest, NoCallbackAfterUnsubscribe) {
  RoutedMessageMonitor monitor;
  int notified = 0;
  auto subscription = monitor.Subscribe("", 10, [&] { ++notified; });
  EXPECT_TRUE(monitor.active());

  monitor.Unsubscribe(subscription.get());
  monitor.Publish(Routed({DeviceMessage("leaf", "1")}), absl::Now());

  EXPECT_FALSE(monitor.active());
  EXPECT_EQ(notified, 0);
  EXPECT_FALSE(subscription->Next().has_value());
}

}  // namespace
}  // namespace edge::router
