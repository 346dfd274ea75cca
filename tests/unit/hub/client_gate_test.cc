#include "services/hub/plugin/client_gate.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/iothub_topic.h"
#include "common/sas.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::hub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RecordingBroker final : public BrokerApi {
 public:
  void KickClient(const std::string& client_id) override {
    kicked.push_back(client_id);
    if (on_kick) on_kick(client_id);  // mosquitto runs the client's DISCONNECT within the kick
  }
  int ProtocolVersion(const void* /*connection*/) override { return 4; }
  bool CleanSession(const void* connection) override { return !persistent.count(connection); }
  int SubscriptionCount(const void* connection) override {
    return restored.count(connection) ? 1 : 0;
  }
  bool Publish(const std::string& client_id, const std::string& topic, absl::string_view payload,
               int /*qos*/) override {
    published.push_back({client_id, topic, std::string(payload)});
    return true;
  }
  std::vector<std::string> kicked;
  std::function<void(const std::string&)> on_kick;
  std::set<const void*> restored;    // connections whose restored sessions have subscriptions
  std::set<const void*> persistent;  // connections with clean session off
  std::vector<std::vector<std::string>> published;
};

class ClientGateTest : public ::testing::Test {
 protected:
  ClientGateTest() {
    auto table = std::make_shared<IdentityTable>();
    (*table)["d1"] = {.primary_key = key_};
    (*table)["d1/m1"] = {.primary_key = key_};
    (*table)["d1/m2"] = {.primary_key = key_};
    (*table)["d2"] = {.primary_key = key_};
    table_ = *table;
    gate_.SetIdentities(std::move(table));
  }

  // Connects `identity` with a valid token on `connection` (any distinct address will do).
  bool Connect(const void* connection, const std::string& identity,
               absl::Time expiry = absl::Now() + absl::Hours(1)) {
    const std::string username = absl::StrCat("h/", identity, "/?api-version=1");
    IdentityId id = *IdentityId::Parse(identity);
    const std::string resource =
        id.is_module() ? absl::StrCat("h/devices/", id.device(), "/modules/", id.module())
                       : absl::StrCat("h/devices/", id.device());
    const std::string token = *MakeSasToken(resource, key_, expiry);
    return gate_.Connect(
        connection,
        {.client_id = identity, .username = username, .password = token, .now = absl::Now()});
  }

  std::string Metrics() { return metrics_.RenderPrometheusText(); }

  const std::string key_ = GenerateSymmetricKey();
  IdentityTable table_;
  RecordingBroker broker_;
  MetricsRegistry metrics_;
  ClientGate gate_{&broker_, metrics_};
  const int device_ = 0, module_ = 0, other_ = 0;  // their addresses are the connections
  const int module2_ = 0, takeover_ = 0;
};

TEST_F(ClientGateTest, RefusalIsCountedByReason) {
  EXPECT_FALSE(gate_.Connect(&device_, {.client_id = "d1", .username = "d1", .now = absl::Now()}));

  EXPECT_EQ(gate_.connected(), 0u);
  EXPECT_THAT(Metrics(), HasSubstr("edge_hub_auth_refused_total{reason=\"malformed_username\"} 1"));
}

TEST_F(ClientGateTest, ConnectionsAreKeyedByConnectionNotClientId) {
  ASSERT_TRUE(Connect(&device_, "d1"));
  // A takeover: the new connection authenticates before the old one's DISCONNECT.
  ASSERT_TRUE(Connect(&other_, "d1"));
  EXPECT_EQ(gate_.connected(), 2u);

  gate_.Disconnect(&device_);
  gate_.Disconnect(&device_);  // a persistent session's second DISCONNECT

  ASSERT_NE(gate_.Find(&other_), nullptr);
  EXPECT_EQ(gate_.Find(&other_)->identity.ToString(), "d1");
  EXPECT_EQ(gate_.Find(&device_), nullptr);
  EXPECT_EQ(gate_.connected(), 1u);
  EXPECT_THAT(Metrics(), HasSubstr("edge_hub_connected_clients 1"));
}

TEST_F(ClientGateTest, DeviceSubscribesOnlyToItsOwnFilters) {
  ASSERT_TRUE(Connect(&device_, "d1"));
  for (const char* allowed :
       {"devices/d1/messages/devicebound/#", "$iothub/twin/res/#",
        "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#"}) {
    EXPECT_TRUE(gate_.AllowAccess(&device_, allowed, AclAccess::kSubscribe)) << allowed;
  }
  for (const char* denied :
       {"devices/d2/messages/devicebound/#", "devices/d1/messages/events/#", "#", "+/#",
        "devices/+/messages/devicebound/#", "$SYS/#", "$SYS/broker/clients/connected",
        "anything/else", "devices/d1/modules/m1/inputs/#"}) {
    EXPECT_FALSE(gate_.AllowAccess(&device_, denied, AclAccess::kSubscribe)) << denied;
  }
  EXPECT_THAT(Metrics(), HasSubstr("edge_hub_subscribe_refused_total 9"));
}

TEST_F(ClientGateTest, ModuleSubscribesToItsInputsButNotAnotherModules) {
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  EXPECT_TRUE(gate_.AllowAccess(&module_, "devices/d1/modules/m1/inputs/#", AclAccess::kSubscribe));
  EXPECT_TRUE(gate_.AllowAccess(&module_, "devices/d1/modules/m1/#", AclAccess::kSubscribe));
  EXPECT_FALSE(
      gate_.AllowAccess(&module_, "devices/d1/modules/m2/inputs/#", AclAccess::kSubscribe));
  EXPECT_FALSE(
      gate_.AllowAccess(&module_, "devices/d1/messages/devicebound/#", AclAccess::kSubscribe));
}

TEST_F(ClientGateTest, ReadIsNeverAllowedWriteAndUnsubscribeAre) {
  ASSERT_TRUE(Connect(&device_, "d1"));
  EXPECT_FALSE(gate_.AllowAccess(&device_, "devices/d1/messages/devicebound/x", AclAccess::kRead));
  EXPECT_TRUE(gate_.AllowAccess(&device_, "anything", AclAccess::kWrite));
  EXPECT_TRUE(gate_.AllowAccess(&device_, "anything", AclAccess::kUnsubscribe));
}

TEST_F(ClientGateTest, UnknownConnectionGetsNothing) {
  EXPECT_FALSE(gate_.AllowAccess(&other_, "devices/d1/messages/events/", AclAccess::kWrite));
  EXPECT_EQ(gate_.CheckPublish(&other_, "devices/d1/messages/events/", "x", 1),
            PublishVerdict::kDisconnect);
}

TEST_F(ClientGateTest, PublishesOnlyOnItsOwnTopics) {
  ASSERT_TRUE(Connect(&device_, "d1"));
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  EXPECT_EQ(gate_.CheckPublish(&device_, "devices/d1/messages/events/a=1", "{}", 1),
            PublishVerdict::kAccept);
  EXPECT_EQ(gate_.CheckPublish(&device_, "$iothub/twin/GET/?$rid=1", "", 0),
            PublishVerdict::kAccept);
  EXPECT_EQ(
      gate_.CheckPublish(&module_, "devices/d1/modules/m1/messages/events/%24.on=out1", "x", 1),
      PublishVerdict::kAccept);

  EXPECT_EQ(gate_.CheckPublish(&device_, "devices/d2/messages/events/", "x", 1),
            PublishVerdict::kDisconnect);
  EXPECT_EQ(gate_.CheckPublish(&module_, "devices/d1/messages/events/", "x", 1),
            PublishVerdict::kDisconnect);
  EXPECT_EQ(gate_.CheckPublish(&module_, "devices/d1/modules/m2/messages/events/", "x", 1),
            PublishVerdict::kDisconnect);
  EXPECT_EQ(gate_.CheckPublish(&device_, "arbitrary/topic", "x", 1), PublishVerdict::kDisconnect);
  EXPECT_EQ(gate_.CheckPublish(&device_, "devices/d1/messages/events/", "x", 2),
            PublishVerdict::kDisconnect);
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("edge_hub_publish_refused_total{reason=\"topic\"} 4"));
  EXPECT_THAT(metrics, HasSubstr("edge_hub_publish_refused_total{reason=\"qos\"} 1"));
}

TEST_F(ClientGateTest, SizeCountsBodyAndPropertiesUpTo256KiB) {
  ASSERT_TRUE(Connect(&device_, "d1"));
  const std::string topic = "devices/d1/messages/events/k=vv";  // 3 bytes of properties
  EXPECT_EQ(gate_.CheckPublish(&device_, topic, std::string(kMaxMessageBytes - 3, 'x'), 1),
            PublishVerdict::kAccept);
  EXPECT_EQ(gate_.CheckPublish(&device_, topic, std::string(kMaxMessageBytes - 2, 'x'), 1),
            PublishVerdict::kDisconnect);
  EXPECT_THAT(Metrics(), HasSubstr("edge_hub_publish_refused_total{reason=\"size\"} 1"));
}

TEST_F(ClientGateTest, DeletedOrDisabledIdentityIsKickedOthersStay) {
  ASSERT_TRUE(Connect(&device_, "d1"));
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  ASSERT_TRUE(Connect(&other_, "d2"));

  auto next = std::make_shared<IdentityTable>(table_);
  next->erase("d1/m1");
  (*next)["d2"].enabled = false;
  (*next)["d1"].primary_key = GenerateSymmetricKey();  // a key change keeps the connection
  gate_.SetIdentities(next);

  std::sort(broker_.kicked.begin(), broker_.kicked.end());
  EXPECT_THAT(broker_.kicked, ElementsAre("d1/m1", "d2"));
  EXPECT_THAT(Metrics(), HasSubstr("edge_hub_clients_kicked_total 2"));
}

TEST_F(ClientGateTest, AClientIsDisconnectedOnceWhenItsTokenExpiresWithTheSkew) {
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  ASSERT_TRUE(Connect(&device_, "d1", now + absl::Minutes(1)));
  ASSERT_TRUE(Connect(&module_, "d1/m1", now + absl::Hours(1)));
  ASSERT_TRUE(Connect(&other_, "d2", now + absl::Minutes(1)));
  broker_.on_kick = [this](const std::string& client_id) {
    gate_.Disconnect(client_id == "d1" ? &device_ : client_id == "d2" ? &other_ : &module_);
  };

  gate_.DisconnectExpired(now + absl::Minutes(1) + kSasClockSkew);
  EXPECT_THAT(broker_.kicked, IsEmpty()) << "se plus the skew is still valid";
  gate_.DisconnectExpired(now + absl::Minutes(1) + kSasClockSkew + absl::Seconds(1));
  EXPECT_THAT(broker_.kicked, ::testing::UnorderedElementsAre("d1", "d2"));
  EXPECT_EQ(gate_.connected(), 1u);
  gate_.DisconnectExpired(now + absl::Minutes(2) + kSasClockSkew);
  EXPECT_EQ(broker_.kicked.size(), 2u) << "kicked once";
  EXPECT_THAT(Metrics(), HasSubstr("edge_hub_clients_kicked_total 2"));

  gate_.DisconnectExpired(now + absl::Hours(2));
  EXPECT_EQ(broker_.kicked.back(), "d1/m1");
  EXPECT_EQ(gate_.connected(), 0u);
}

TEST_F(ClientGateTest, ARenewedConnectionIsJudgedByItsNewToken) {
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  ASSERT_TRUE(Connect(&device_, "d1", now + absl::Minutes(1)));
  gate_.Disconnect(&device_);
  ASSERT_TRUE(Connect(&takeover_, "d1", now + absl::Hours(1)));

  gate_.DisconnectExpired(now + absl::Minutes(30));
  EXPECT_THAT(broker_.kicked, IsEmpty());
}

TEST_F(ClientGateTest, NewIdentityCanConnectAfterTheTableChanges) {
  EXPECT_FALSE(Connect(&device_, "d3"));
  auto next = std::make_shared<IdentityTable>(table_);
  (*next)["d3"] = {.primary_key = key_};
  gate_.SetIdentities(next);

  EXPECT_TRUE(Connect(&device_, "d3"));
  EXPECT_THAT(broker_.kicked, IsEmpty());
}

TEST_F(ClientGateTest, AModuleIsPresentOnceSubscribedToItsInputsAndUntilItDisconnects) {
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  EXPECT_TRUE(gate_.TakePresenceChanged());
  EXPECT_THAT(gate_.PresentModules("d1"), IsEmpty());

  EXPECT_TRUE(gate_.AllowAccess(&module_, "$iothub/methods/POST/#", AclAccess::kSubscribe));
  EXPECT_THAT(gate_.PresentModules("d1"), IsEmpty());  // not its inputs
  EXPECT_TRUE(gate_.AllowAccess(&module_, "devices/d1/modules/m1/inputs/#", AclAccess::kSubscribe));
  EXPECT_TRUE(gate_.TakePresenceChanged());
  EXPECT_FALSE(gate_.TakePresenceChanged());
  EXPECT_THAT(gate_.PresentModules("d1"), ElementsAre("m1"));
  EXPECT_THAT(gate_.PresentModules("d2"), IsEmpty());

  gate_.Disconnect(&module_);
  EXPECT_TRUE(gate_.TakePresenceChanged());
  EXPECT_THAT(gate_.PresentModules("d1"), IsEmpty());
}

TEST_F(ClientGateTest, ARestoredSessionWithSubscriptionsIsPresentWithoutASubscribe) {
  broker_.restored.insert(&module2_);
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  ASSERT_TRUE(Connect(&module2_, "d1/m2"));
  gate_.RefreshRestoredSubscriptions();
  EXPECT_THAT(gate_.PresentModules("d1"), ElementsAre("m2"));
}

TEST_F(ClientGateTest, ASessionTakeoverKeepsTheNewConnectionFoundAndPresent) {
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  ASSERT_TRUE(gate_.AllowAccess(&module_, "devices/d1/modules/m1/#", AclAccess::kSubscribe));
  ASSERT_TRUE(Connect(&takeover_, "d1/m1"));  // before the old one's DISCONNECT
  ASSERT_TRUE(gate_.AllowAccess(&takeover_, "devices/d1/modules/m1/#", AclAccess::kSubscribe));
  gate_.Disconnect(&module_);

  const ClientState* found = gate_.FindIdentity("d1/m1");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found, gate_.Find(&takeover_));
  EXPECT_THAT(gate_.PresentModules("d1"), ElementsAre("m1"));
}

TEST_F(ClientGateTest, AnAcceptedPublishHandsBackItsParsedTopic) {
  ASSERT_TRUE(Connect(&module_, "d1/m1"));
  ClientTopic topic;
  ASSERT_EQ(gate_.CheckPublish(&module_, "devices/d1/modules/m1/messages/events/%24.on=out1&a=1",
                               "x", 1, &topic),
            PublishVerdict::kAccept);
  EXPECT_EQ(topic.kind, ClientTopicKind::kModuleMessage);
  EXPECT_EQ(topic.properties.system.at("outputName"), "out1");
  EXPECT_EQ(topic.properties.application.at("a"), "1");
}

}  // namespace
}  // namespace edge::hub
