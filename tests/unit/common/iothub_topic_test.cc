#include "common/iothub_topic.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

using ::testing::HasSubstr;

IdentityId Id(absl::string_view text) { return *IdentityId::Parse(text); }

MessageProperties Props(std::map<std::string, std::string> system,
                        std::map<std::string, std::string> application) {
  MessageProperties p;
  p.system = std::move(system);
  p.application = std::move(application);
  return p;
}

// --- Property bags.

struct BagCase {
  const char* bag;
  MessageProperties expected;
};

TEST(PropertyBagTest, DecodesSystemAndApplicationProperties) {
  const BagCase cases[] = {
      {"", {}},
      {"/", {}},
      {"a=1", Props({}, {{"a", "1"}})},
      {"a=1/", Props({}, {{"a", "1"}})},
      {"a=1&&b=2", Props({}, {{"a", "1"}, {"b", "2"}})},
      {"flag", Props({}, {{"flag", ""}})},
      {"a=1&a=2", Props({}, {{"a", "2"}})},
      {"a%20b=c%26d%3De+f", Props({}, {{"a b", "c&d=e+f"}})},
      {"%24.mid=m1&$.cid=c1&%24.uid=u&%24.to=%2Fdevices%2Fd&%24.exp=e&%24.ct=application%2Fjson"
       "&%24.ce=utf-8&%24.schema=s&%24.ctime=t&%24.on=out1&%24.ifid=i&%24.sub=comp"
       "&iothub-operation=op&ack=full",
       Props({{"messageId", "m1"},
              {"correlationId", "c1"},
              {"userId", "u"},
              {"to", "/devices/d"},
              {"expiryTimeUtc", "e"},
              {"contentType", "application/json"},
              {"contentEncoding", "utf-8"},
              {"messageSchema", "s"},
              {"creationTime", "t"},
              {"outputName", "out1"},
              {"interfaceId", "i"},
              {"componentName", "comp"},
              {"iothub-operation", "op"},
              {"ack", "full"}},
             {})},
      // An unknown `$.` key is an application property.
      {"%24.xyz=1&messageId=2", Props({}, {{"$.xyz", "1"}, {"messageId", "2"}})},
      // A client cannot set the hub's connection ids.
      {"%24.cdid=other&%24.cmid=m&x=1", Props({}, {{"x", "1"}})},
  };
  for (const BagCase& c : cases) {
    absl::StatusOr<MessageProperties> got = DecodeProperties(c.bag);
    ASSERT_TRUE(got.ok()) << c.bag << ": " << got.status();
    EXPECT_EQ(got->system, c.expected.system) << c.bag;
    EXPECT_EQ(got->application, c.expected.application) << c.bag;
  }
}

TEST(PropertyBagTest, RejectsMalformedBags) {
  for (const char* bag : {"a=%2", "a%=1", "a=%zz", "=v", "a=1&=2", "%"}) {
    EXPECT_EQ(DecodeProperties(bag).status().code(), absl::StatusCode::kInvalidArgument) << bag;
  }
}

TEST(PropertyBagTest, EncodesSystemPropertiesInWireFormFirst) {
  MessageProperties p = Props({{"contentType", "application/json"},
                               {"messageId", "m 1"},
                               {"connectionDeviceId", "d1"},
                               {"connectionModuleId", "m1"}},
                              {{"z", "1"}, {"a&b", "x=y"}});
  EXPECT_EQ(EncodeProperties(p),
            "%24.mid=m%201&%24.ct=application%2Fjson&%24.cdid=d1&%24.cmid=m1&a%26b=x%3Dy&z=1");
}

TEST(PropertyBagTest, OutputNameAndUnknownSystemNamesAreNotEncoded) {
  EXPECT_EQ(EncodeProperties(Props({{"outputName", "o"}, {"bogus", "b"}}, {{"k", "v"}})), "k=v");
  EXPECT_EQ(EncodeProperties({}), "");
}

TEST(PropertyBagTest, EncodeThenDecodeRoundTrips) {
  MessageProperties p = Props({{"messageId", "id/1"}, {"correlationId", "c&1"}, {"ack", "full"}},
                              {{"temp", "21.5"}, {"unit name", "°C"}});
  absl::StatusOr<MessageProperties> back = DecodeProperties(EncodeProperties(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
}

TEST(PropertyBagTest, SizeCountsBodyAndWireKeysAndValues) {
  // body 4 + "$.mid"(5)+"m1"(2) + "$.cdid"(6)+"d"(1) + "temp"(4)+"21"(2) = 24
  EXPECT_EQ(MessageSize("body", Props({{"messageId", "m1"}, {"connectionDeviceId", "d"}},
                                      {{"temp", "21"}})),
            24u);
  EXPECT_EQ(MessageSize("", {}), 0u);
  EXPECT_EQ(kMaxMessageBytes, 262144u);
}

TEST(PropertyBagTest, SystemPropertyNameKnowsExactlySectionTwo) {
  EXPECT_EQ(SystemPropertyName("$.mid"), "messageId");
  EXPECT_EQ(SystemPropertyName("$.on"), "outputName");
  EXPECT_EQ(SystemPropertyName("$.cdid"), std::nullopt);
  EXPECT_EQ(SystemPropertyName("mid"), std::nullopt);
}

// --- Client → hub topics.

TEST(ClientTopicTest, ParsesDeviceTelemetry) {
  for (const char* topic : {"devices/dev1/messages/events/", "devices/dev1/messages/events",
                            "devices/dev1/messages/events/a=1&%24.mid=m",
                            "devices/dev1/messages/events/a=1&%24.mid=m/"}) {
    absl::StatusOr<ClientTopic> t = ParseClientTopic(topic);
    ASSERT_TRUE(t.ok()) << topic << ": " << t.status();
    EXPECT_EQ(t->kind, ClientTopicKind::kDeviceTelemetry) << topic;
    EXPECT_EQ(t->device, "dev1");
    EXPECT_EQ(t->module, "");
  }
  absl::StatusOr<ClientTopic> t = ParseClientTopic("devices/dev1/messages/events/a=1&%24.mid=m/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->properties, Props({{"messageId", "m"}}, {{"a", "1"}}));
}

TEST(ClientTopicTest, ParsesModuleMessageWithItsOutputName) {
  absl::StatusOr<ClientTopic> t =
      ParseClientTopic("devices/edge-1/modules/$edgeHub/messages/events/%24.on=out1&t=2");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->kind, ClientTopicKind::kModuleMessage);
  EXPECT_EQ(t->device, "edge-1");
  EXPECT_EQ(t->module, "$edgeHub");
  EXPECT_EQ(t->properties, Props({{"outputName", "out1"}}, {{"t", "2"}}));
}

struct RequestCase {
  const char* topic;
  ClientTopicKind kind;
  std::string rid;
  int status;
};

TEST(ClientTopicTest, ParsesTwinAndMethodTopics) {
  const RequestCase cases[] = {
      {"$iothub/twin/GET/?$rid=1", ClientTopicKind::kTwinGet, "1", 0},
      {"$iothub/twin/GET/?$rid=a%20b&x=y", ClientTopicKind::kTwinGet, "a b", 0},
      {"$iothub/twin/PATCH/properties/reported/?$rid=42", ClientTopicKind::kTwinReportedPatch, "42",
       0},
      {"$iothub/twin/PATCH/properties/reported/?$version=3&$rid=7",
       ClientTopicKind::kTwinReportedPatch, "7", 0},
      {"$iothub/methods/res/200/?$rid=9", ClientTopicKind::kMethodResponse, "9", 200},
      {"$iothub/methods/res/-5/?$rid=9", ClientTopicKind::kMethodResponse, "9", -5},
      // §2: a non-integer status becomes 400.
      {"$iothub/methods/res/ok/?$rid=9", ClientTopicKind::kMethodResponse, "9", 400},
      {"$iothub/methods/res/2.5/?$rid=9", ClientTopicKind::kMethodResponse, "9", 400},
  };
  for (const RequestCase& c : cases) {
    absl::StatusOr<ClientTopic> t = ParseClientTopic(c.topic);
    ASSERT_TRUE(t.ok()) << c.topic << ": " << t.status();
    EXPECT_EQ(t->kind, c.kind) << c.topic;
    EXPECT_EQ(t->request_id, c.rid) << c.topic;
    EXPECT_EQ(t->status, c.status) << c.topic;
  }
}

struct BadTopicCase {
  const char* topic;
  const char* message;  // a substring of the status message
};

TEST(ClientTopicTest, RejectsEverythingElseWithASpecificMessage) {
  const BadTopicCase cases[] = {
      {"", "not a §2"},
      {"devices/dev1", "not a §2"},
      {"devices/dev1/messages/eventsx", "not a §2"},
      {"devices/dev1/messages/devicebound/", "not a §2"},
      {"devices/dev1/modules/m1/inputs/in1/", "not a §2"},
      {"devices/dev1/modules/m1", "not a §2"},
      {"devices//messages/events/", "device id is empty"},
      {"devices/dev#1/messages/events/", "device id contains '#'"},
      {"devices/dev1/modules//messages/events/", "module id is empty"},
      {"devices/dev1/messages/events/a=%zz", "bad property bag"},
      {"devices/dev1/messages/events/=1", "bad property bag"},
      {"$iothub/twin/GET/", "not a §2"},
      {"$iothub/twin/GET/?", "has no $rid"},
      {"$iothub/twin/GET/?$rid=", "has no $rid"},
      {"$iothub/twin/GET/?rid=1", "has no $rid"},
      {"$iothub/twin/GET/?$rid=%2", "bad query"},
      {"$iothub/twin/PATCH/properties/desired/?$rid=1", "not a §2"},
      {"$iothub/twin/res/200/?$rid=1", "not a §2"},
      {"$iothub/methods/POST/m/?$rid=1", "not a §2"},
      {"$iothub/methods/res//?$rid=1", "not a §2"},
      {"$iothub/methods/res/200?$rid=1", "not a §2"},
      {"$iothub/methods/res/200/x/?$rid=1", "not a §2"},
      {"$iothub/methods/res/200/?x=1", "has no $rid"},
      {"other/topic", "not a §2"},
  };
  for (const BadTopicCase& c : cases) {
    absl::StatusOr<ClientTopic> t = ParseClientTopic(c.topic);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << c.topic;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.message)) << c.topic;
  }
}

struct IdentityCase {
  const char* client;
  const char* topic;
  bool allowed;
};

TEST(ClientTopicTest, AClientPublishesOnlyAsItself) {
  const IdentityCase cases[] = {
      {"dev1", "devices/dev1/messages/events/", true},
      {"dev1", "devices/dev2/messages/events/", false},
      {"dev1", "devices/dev1/modules/m1/messages/events/", false},
      {"dev1/m1", "devices/dev1/modules/m1/messages/events/", true},
      {"dev1/m1", "devices/dev1/modules/m2/messages/events/", false},
      {"dev1/m1", "devices/dev1/messages/events/", false},
      {"dev1/m1", "devices/dev2/modules/m1/messages/events/", false},
      {"Dev1", "devices/dev1/messages/events/", false},
      {"dev1", "$iothub/twin/GET/?$rid=1", true},
      {"dev1/m1", "$iothub/methods/res/200/?$rid=1", true},
  };
  for (const IdentityCase& c : cases) {
    absl::StatusOr<ClientTopic> t = ParseClientTopicFor(c.topic, Id(c.client));
    if (c.allowed) {
      EXPECT_TRUE(t.ok()) << c.client << " " << c.topic << ": " << t.status();
    } else {
      EXPECT_EQ(t.status().code(), absl::StatusCode::kPermissionDenied)
          << c.client << " " << c.topic;
    }
  }
}

TEST(ClientTopicTest, AnInvalidTopicIsInvalidBeforeItIsDenied) {
  EXPECT_EQ(ParseClientTopicFor("devices/dev2/messages/eventz/", Id("dev1")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Subscriptions.

struct SubscriptionCase {
  const char* client;
  const char* filter;
  bool allowed;
};

TEST(SubscriptionTest, OnlySectionTwoFiltersOfTheClientsOwnIdentity) {
  const SubscriptionCase cases[] = {
      {"dev1", "devices/dev1/messages/devicebound/#", true},
      {"dev1", "$iothub/twin/res/#", true},
      {"dev1", "$iothub/twin/PATCH/properties/desired/#", true},
      {"dev1", "$iothub/methods/POST/#", true},
      {"dev1/m1", "$iothub/twin/res/#", true},
      {"dev1/m1", "$iothub/twin/PATCH/properties/desired/#", true},
      {"dev1/m1", "$iothub/methods/POST/#", true},
      {"dev1/m1", "devices/dev1/modules/m1/#", true},
      {"dev1/m1", "devices/dev1/modules/m1/inputs/#", true},
      {"dev1", "devices/dev2/messages/devicebound/#", false},
      {"dev1", "devices/+/messages/devicebound/#", false},
      {"dev1", "devices/dev1/#", false},
      {"dev1", "devices/dev1/messages/devicebound/+", false},
      {"dev1", "devices/dev1/messages/events/#", false},
      {"dev1", "devices/dev1/modules/m1/#", false},
      {"dev1/m1", "devices/dev1/messages/devicebound/#", false},
      {"dev1/m1", "devices/dev1/modules/m2/#", false},
      {"dev1/m1", "devices/dev1/modules/+/inputs/#", false},
      {"dev1/m1", "devices/dev1/modules/m1/inputs/in1", false},
      {"dev1/m1", "devices/dev1/modules/m1/inputs/+", false},
      {"dev1", "#", false},
      {"dev1", "$iothub/#", false},
      {"dev1", "$iothub/twin/#", false},
      {"dev1", "$iothub/twin/res/200/#", false},
      {"dev1", "$iothub/methods/POST/+", false},
      {"dev1", "", false},
  };
  for (const SubscriptionCase& c : cases) {
    EXPECT_EQ(IsAllowedSubscription(Id(c.client), c.filter), c.allowed)
        << c.client << " " << c.filter;
  }
}

// --- Hub → client topics.

TEST(DeliveryTopicTest, CloudToDevice) {
  EXPECT_EQ(CloudToDeviceTopic("dev1", Props({{"messageId", "m"}}, {{"a", "1"}})),
            "devices/dev1/messages/devicebound/%24.mid=m&a=1");
  EXPECT_EQ(CloudToDeviceTopic("dev1", {}), "devices/dev1/messages/devicebound/");
}

TEST(DeliveryTopicTest, ModuleInput) {
  MessageProperties p =
      Props({{"connectionDeviceId", "dev1"}, {"connectionModuleId", "src"}}, {{"t", "2"}});
  absl::StatusOr<std::string> topic = ModuleInputTopic(Id("dev1/m1"), "in1", p);
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_EQ(*topic, "devices/dev1/modules/m1/inputs/in1/%24.cdid=dev1&%24.cmid=src&t=2");
}

TEST(DeliveryTopicTest, ModuleInputRejectsDevicesAndUnsafeInputNames) {
  EXPECT_EQ(ModuleInputTopic(Id("dev1"), "in1", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* input : {"", "a/b", "a+", "#"}) {
    EXPECT_EQ(ModuleInputTopic(Id("dev1/m1"), input, {}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << input;
  }
}

TEST(DeliveryTopicTest, TwinResponse) {
  EXPECT_EQ(TwinResponseTopic(200, "1"), "$iothub/twin/res/200/?$rid=1");
  EXPECT_EQ(TwinResponseTopic(204, "a b", 7), "$iothub/twin/res/204/?$rid=a%20b&$version=7");
}

TEST(DeliveryTopicTest, DesiredPatch) {
  EXPECT_EQ(DesiredPatchTopic(12), "$iothub/twin/PATCH/properties/desired/?$version=12");
}

TEST(DeliveryTopicTest, MethodRequest) {
  absl::StatusOr<std::string> topic = MethodRequestTopic("reboot", "5");
  ASSERT_TRUE(topic.ok());
  EXPECT_EQ(*topic, "$iothub/methods/POST/reboot/?$rid=5");
  EXPECT_TRUE(MethodRequestTopic(std::string(100, 'm'), "1").ok());
}

TEST(DeliveryTopicTest, MethodRequestRejectsBadNames) {
  for (const std::string& name :
       std::vector<std::string>{"", "a/b", "a+b", "a#", "a?b", std::string(101, 'm')}) {
    EXPECT_EQ(MethodRequestTopic(name, "1").status().code(), absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST(DeliveryTopicTest, DeliveredPropertiesParseBackOnTheClientSide) {
  // What a module publishes with an output comes back on another module's input without `$.on`.
  absl::StatusOr<ClientTopic> in =
      ParseClientTopic("devices/d/modules/a/messages/events/%24.on=o&%24.mid=1&k=v");
  ASSERT_TRUE(in.ok());
  absl::StatusOr<std::string> out = ModuleInputTopic(Id("d/b"), "i", in->properties);
  ASSERT_TRUE(out.ok());
  absl::StatusOr<MessageProperties> seen = DecodeProperties(
      absl::string_view(*out).substr(std::string("devices/d/modules/b/inputs/i/").size()));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, Props({{"messageId", "1"}}, {{"k", "v"}}));
}

}  // namespace
}  // namespace edge
