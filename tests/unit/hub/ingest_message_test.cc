#include "services/hub/plugin/ingest_message.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;

ClientState Client(const std::string& identity, AuthMethod method = AuthMethod::kSas) {
  return {.client_id = identity, .identity = *IdentityId::Parse(identity), .method = method};
}

ClientTopic Topic(const std::string& topic, const std::string& identity) {
  return *ParseClientTopicFor(topic, *IdentityId::Parse(identity));
}

TEST(IngestMessageTest, AModuleOutputCarriesItsSourcePropertiesAndOrigin) {
  const absl::Time at = absl::FromUnixMillis(1700000000123);
  common::v1::Message message = IngestMessage(
      Client("edge-1/filter"),
      Topic("devices/edge-1/modules/filter/messages/events/%24.on=alert&%24.mid=m-1&level=high",
            "edge-1/filter"),
      "{\"t\":31}", at, "id-7");

  EXPECT_EQ(message.body(), "{\"t\":31}");
  EXPECT_EQ(message.source().kind(), common::v1::MESSAGE_KIND_TELEMETRY);
  EXPECT_EQ(message.source().device_id(), "edge-1");
  EXPECT_EQ(message.source().module_id(), "filter");
  EXPECT_EQ(message.source().output_name(), "alert");
  EXPECT_EQ(message.system_properties().at("messageId"), "m-1");
  EXPECT_EQ(message.application_properties().at("level"), "high");
  EXPECT_EQ(message.enqueued_time_unix_ms(), 1700000000123);
  EXPECT_EQ(message.edge_message_id(), "id-7");
  EXPECT_EQ(message.system_properties().at("edgeHubOriginInterface"), "internal");
  EXPECT_EQ(message.system_properties().at("connectionAuthMethod"),
            R"({"scope":"module","type":"sasToken","issuer":"iothub"})");
}

TEST(IngestMessageTest, ALeafDeviceIsDownstreamAndItsCertificateIsNamed) {
  common::v1::Message message =
      IngestMessage(Client("leaf", AuthMethod::kX509),
                    Topic("devices/leaf/messages/events/", "leaf"), "x", absl::Now(), "id");
  EXPECT_TRUE(message.source().module_id().empty());
  EXPECT_TRUE(message.source().output_name().empty());
  EXPECT_EQ(message.system_properties().at("edgeHubOriginInterface"), "downstream");
  EXPECT_THAT(message.system_properties().at("connectionAuthMethod"),
              HasSubstr(R"("scope":"device","type":"x509Certificate")"));
}

TEST(IngestMessageTest, TheDeliveryTopicNamesTheInputAndTheSenderAndKeepsTheProperties) {
  common::v1::Message message = IngestMessage(
      Client("edge-1/sensor"),
      Topic(
          "devices/edge-1/modules/sensor/messages/events/%24.on=out1&%24.ct=application%2Fjson&a=1",
          "edge-1/sensor"),
      "x", absl::Now(), "id");
  absl::StatusOr<std::string> topic =
      ModuleInputDeliveryTopic(*IdentityId::Parse("edge-1/filter"), "in1", message);
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_THAT(*topic, HasSubstr("devices/edge-1/modules/filter/inputs/in1/"));
  EXPECT_THAT(*topic, HasSubstr("%24.cdid=edge-1"));
  EXPECT_THAT(*topic, HasSubstr("%24.cmid=sensor"));
  EXPECT_THAT(*topic, HasSubstr("%24.ct=application%2Fjson"));
  EXPECT_THAT(*topic, HasSubstr("a=1"));
  EXPECT_THAT(*topic, ::testing::Not(HasSubstr("%24.on")));  // outputs are inbound only
}

TEST(IngestMessageTest, ABadInputNameIsInvalidArgument) {
  common::v1::Message message;
  message.mutable_source()->set_device_id("edge-1");
  EXPECT_EQ(ModuleInputDeliveryTopic(*IdentityId::Parse("edge-1/filter"), "in/1", message)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edge::hub
