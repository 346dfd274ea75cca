// The adapter from edge::common::v1::Message to the route language's MessageView.
#include "common/route/proto_message.h"

#include "common/route/route_table.h"
#include "gtest/gtest.h"

namespace edge::route {
namespace {

edge::common::v1::Message ModuleMessage() {
  edge::common::v1::Message m;
  m.set_body(R"({"t": 35})");
  (*m.mutable_system_properties())["contentType"] = "application/json";
  (*m.mutable_system_properties())["contentEncoding"] = "utf-8";
  (*m.mutable_system_properties())["messageId"] = "mid";
  (*m.mutable_application_properties())["alert"] = "on";
  m.mutable_source()->set_kind(edge::common::v1::MESSAGE_KIND_TELEMETRY);
  m.mutable_source()->set_device_id("edge1");
  m.mutable_source()->set_module_id("sensor");
  m.mutable_source()->set_output_name("out1");
  m.set_enqueued_time_unix_ms(1'700'000'000'123);
  return m;
}

absl::string_view System(const MessageView& view, absl::string_view name) {
  const Property* p = FindProperty(view.system_properties, name);
  return p == nullptr ? absl::string_view("<absent>") : p->value;
}

TEST(ProtoMessageViewTest, CopiesPropertiesBodyAndSource) {
  const edge::common::v1::Message m = ModuleMessage();
  ProtoMessageView adapted(m);
  const MessageView& view = adapted.view();
  EXPECT_EQ(view.body, m.body());
  EXPECT_EQ(System(view, "messageId"), "mid");
  ASSERT_NE(FindProperty(view.application_properties, "alert"), nullptr);
  EXPECT_EQ(SourcePath(view), "/messages/modules/sensor/outputs/out1/");
}

TEST(ProtoMessageViewTest, DerivesConnectionAndOutputPropertiesFromTheSource) {
  const edge::common::v1::Message m = ModuleMessage();
  ProtoMessageView adapted(m);
  EXPECT_EQ(System(adapted.view(), "connectionDeviceId"), "edge1");
  EXPECT_EQ(System(adapted.view(), "connectionModuleId"), "sensor");
  EXPECT_EQ(System(adapted.view(), "outputName"), "out1");
}

TEST(ProtoMessageViewTest, FormatsEnqueuedTimeAsIso8601Utc) {
  const edge::common::v1::Message m = ModuleMessage();
  ProtoMessageView adapted(m);
  EXPECT_EQ(System(adapted.view(), "enqueuedTime"), "2023-11-14T22:13:20.123Z");
}

TEST(ProtoMessageViewTest, PropertiesInTheMapWinOverDerivedOnes) {
  edge::common::v1::Message m = ModuleMessage();
  (*m.mutable_system_properties())["connectionDeviceId"] = "from-map";
  ProtoMessageView adapted(m);
  EXPECT_EQ(System(adapted.view(), "connectionDeviceId"), "from-map");
}

TEST(ProtoMessageViewTest, DeviceTelemetryHasNoModuleProperties) {
  edge::common::v1::Message m;
  m.mutable_source()->set_device_id("leaf");
  ProtoMessageView adapted(m);
  EXPECT_EQ(System(adapted.view(), "connectionModuleId"), "<absent>");
  EXPECT_EQ(System(adapted.view(), "enqueuedTime"), "<absent>");
  EXPECT_EQ(SourcePath(adapted.view()), "/messages/");
}

TEST(ProtoMessageViewTest, TwinChangeNotificationKindMapsToItsSource) {
  edge::common::v1::Message m;
  m.mutable_source()->set_kind(edge::common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION);
  ProtoMessageView adapted(m);
  EXPECT_EQ(SourcePath(adapted.view()), "/twinChangeNotifications/");
}

TEST(ProtoMessageViewTest, RoutesEvaluateOverTheAdaptedMessage) {
  absl::StatusOr<RouteTable> table = RouteTable::Create(
      {{"r",
        "FROM /messages/modules/sensor/* WHERE $body.t > 30 AND alert = 'on' AND "
        "$connectionModuleId = 'sensor' INTO $upstream"}});
  ASSERT_TRUE(table.ok()) << table.status();
  const edge::common::v1::Message m = ModuleMessage();
  ProtoMessageView adapted(m);
  MessageContext context(adapted.view());
  EXPECT_EQ(table->Evaluate(context).size(), 1u);
}

}  // namespace
}  // namespace edge::route
