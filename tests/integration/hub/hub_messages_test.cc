// The durable message path through real processes: MQTT clients publish to the hub, whose ingest
// journal streams to edge-router, which stores into edge-store; module inputs come back over Attach
// and reach the module's MQTT client. The router or the hub stopped or killed on the way. And
// twins: GET and reported PATCH answered from the store, desired changes pushed, reported changes
// routed.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/hub/hub_fixture.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kRoutes[] = R"json({"schemaVersion": "1.1", "routes": {
  "AtoB": "FROM /messages/modules/A/outputs/out1 INTO BrokeredEndpoint(\"/modules/B/inputs/in1\")",
  "leafUp": "FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO $upstream",
  "twinUp": "FROM /twinChangeNotifications INTO $upstream"},
  "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}})json";
constexpr char kModuleA[] = "edge-device/A";
constexpr char kModuleB[] = "edge-device/B";
constexpr char kLeaf[] = "leaf-1";
constexpr char kAOut1[] = "devices/edge-device/modules/A/messages/events/%24.on=out1&temp=21";
constexpr char kLeafTelemetry[] = "devices/leaf-1/messages/events/%24.ct=application%2Fjson&k=v";

class HubMessagesTest : public HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(router_.Start().ok()) << router_.Log();
    AddSasIdentity(kModuleA);
    AddSasIdentity(kModuleB);
    AddSasIdentity(kLeaf);
    SetRoutes(kRoutes, router_);
    ASSERT_TRUE(EventuallyConnects(kLeaf, Password(kLeaf), true)) << HubLog();
  }

  // mosquitto_sub as module B on its inputs, until it has `count` messages (printed "topic body").
  absl::StatusOr<Subprocess> SubscribeB(int count, const std::string& log) {
    std::vector<std::string> argv = MosquittoClient(kMosquittoSub, kModuleB, Password(kModuleB));
    argv.insert(argv.end(), {"-t", "devices/edge-device/modules/B/inputs/#", "-v", "-C",
                             std::to_string(count), "-W", "30"});
    return Subprocess::Start({.argv = argv, .log_file = home_.path() / log});
  }

  std::string ReadLog(const std::string& log) {
    std::ifstream in(home_.path() / log);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::vector<store::v1::QueueEntry> Upstream() { return QueueEntries("$upstream"); }

  bool UpstreamHas(size_t count) {
    return WaitUntil([&] { return Upstream().size() >= count; }, absl::Seconds(20));
  }

  // One session of module A: subscribes to twin responses, publishes `topic` with `body`, and
  // waits for the answer.
  Probe TwinRequest(const std::string& topic, const std::string& body = "") {
    return RunProbe({.client_id = kModuleA,
                     .password = Password(kModuleA),
                     .subscribe = {"$iothub/twin/res/#"},
                     .publish = {topic},
                     .message = body.empty() ? " " : body,
                     .expect = 1});
  }

  ServiceProcess router_{"router", home_.path()};
};

TEST_F(HubMessagesTest, AModuleOutputReachesTheRoutedModuleInputWithItsProperties) {
  absl::StatusOr<Subprocess> b = SubscribeB(1, "b.log");
  ASSERT_TRUE(b.ok()) << b.status();

  Finished a = MosquittoPub(kModuleA, Password(kModuleA), kAOut1);
  ASSERT_TRUE(a.ExitedWith(0)) << a.output << HubLog();

  absl::StatusOr<int> exited = b->Wait(absl::Seconds(30));
  ASSERT_TRUE(exited.ok() && WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0)
      << ReadLog("b.log") << HubLog() << router_.Log();
  const std::string received = ReadLog("b.log");
  EXPECT_THAT(received, HasSubstr("devices/edge-device/modules/B/inputs/in1/"));
  EXPECT_THAT(received, HasSubstr("%24.cdid=edge-device"));
  EXPECT_THAT(received, HasSubstr("%24.cmid=A"));
  EXPECT_THAT(received, HasSubstr("temp=21"));
  EXPECT_THAT(received, HasSubstr("{\"temperature\":21.5}"));
}

TEST_F(HubMessagesTest, LeafTelemetryIsStoredForUpstreamWithEveryProperty) {
  Finished leaf = MosquittoPub(kLeaf, Password(kLeaf), kLeafTelemetry);
  ASSERT_TRUE(leaf.ExitedWith(0)) << leaf.output << HubLog();

  ASSERT_TRUE(UpstreamHas(1)) << HubLog() << router_.Log();
  const std::vector<store::v1::QueueEntry> upstream = Upstream();
  const common::v1::Message& message = upstream.front().message();
  EXPECT_EQ(message.body(), "{\"temperature\":21.5}");
  EXPECT_EQ(message.source().device_id(), kLeaf);
  EXPECT_EQ(message.application_properties().at("k"), "v");
  EXPECT_EQ(message.system_properties().at("contentType"), "application/json");
  EXPECT_EQ(message.system_properties().at("edgeHubOriginInterface"), "downstream");
  EXPECT_THAT(message.system_properties().at("connectionAuthMethod"),
              HasSubstr("\"type\":\"sasToken\""));
  EXPECT_FALSE(message.edge_message_id().empty());
  EXPECT_GT(message.enqueued_time_unix_ms(), 0);
}

TEST_F(HubMessagesTest, PublishesAreAckedWhileTheRouterIsDownAndDeliveredWhenItIsBack) {
  ASSERT_EQ(router_.Stop(), 0);
  Probe probe = RunProbe(
      {.client_id = kModuleA, .password = Password(kModuleA), .publish = {kAOut1, kAOut1, kAOut1}});
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(probe.puback(i)) << probe.output << HubLog();

  absl::StatusOr<Subprocess> b = SubscribeB(3, "b.log");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(router_.Start().ok()) << router_.Log();
  absl::StatusOr<int> exited = b->Wait(absl::Seconds(30));
  EXPECT_TRUE(exited.ok() && WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0)
      << ReadLog("b.log") << HubLog() << router_.Log();
  EXPECT_EQ(CountOf(ReadLog("b.log"), "devices/edge-device/modules/B/inputs/in1/"), 3u);
}

TEST_F(HubMessagesTest, AKilledHubSendsWhatItAckedWhenItIsBack) {
  ASSERT_EQ(router_.Stop(), 0);
  Probe probe = RunProbe({.client_id = kLeaf,
                          .password = Password(kLeaf),
                          .publish = {kLeafTelemetry, kLeafTelemetry}});
  ASSERT_TRUE(probe.puback(0) && probe.puback(1)) << probe.output << HubLog();

  hub_.Kill();
  ASSERT_TRUE(hub_.Start().ok()) << hub_.Log();
  ASSERT_TRUE(router_.Start().ok()) << router_.Log();

  ASSERT_TRUE(UpstreamHas(2)) << HubLog() << router_.Log();
  EXPECT_THAT(Upstream(), SizeIs(2));  // the store's journal high-water mark removes replays
  EXPECT_THAT(HubLog(), HasSubstr("2 unacknowledged messages to send again"));
}

TEST_F(HubMessagesTest, TheAttachStreamStaysOpenWhileNoModuleIsPresent) {
  // Presence is sent at once, empty here (no module subscribed yet): the router must take it.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(CountOf(router_.Log(), "hub attached"), 1u) << router_.Log() << HubLog();
  EXPECT_THAT(HubLog(), Not(HasSubstr("the Attach stream to the router ended")));
}

TEST_F(HubMessagesTest, TwinGetAnswersFromTheStoreWithBothVersions) {
  const int64_t desired = PatchDesired(kModuleA, R"({"interval": 5})");

  Probe probe = TwinRequest("$iothub/twin/GET/?$rid=7");
  ASSERT_THAT(probe.received(), SizeIs(1)) << probe.output << HubLog();
  EXPECT_EQ(probe.received()[0].first, "$iothub/twin/res/200/?$rid=7");
  nlohmann::json twin = nlohmann::json::parse(probe.received()[0].second);
  EXPECT_EQ(twin["desired"]["interval"], 5);
  EXPECT_EQ(twin["desired"]["$version"], desired);
  EXPECT_TRUE(twin["reported"].contains("$version"));
}

TEST_F(HubMessagesTest, AReportedPatchIsMergedAnsweredWithItsVersionAndRouted) {
  Probe probe = TwinRequest("$iothub/twin/PATCH/properties/reported/?$rid=8",
                            R"({"state": "ok", "temp": 21})");
  ASSERT_THAT(probe.received(), SizeIs(1)) << probe.output << HubLog();
  const store::v1::Twin twin = TwinOf(kModuleA);
  EXPECT_EQ(probe.received()[0].first,
            absl::StrCat("$iothub/twin/res/204/?$rid=8&$version=", twin.reported().version()));
  EXPECT_EQ(nlohmann::json::parse(twin.reported().json())["state"], "ok");

  // The change goes through the routes as a twin change notification.
  ASSERT_TRUE(UpstreamHas(1)) << HubLog() << router_.Log();
  const std::vector<store::v1::QueueEntry> upstream = Upstream();
  const common::v1::Message& notification = upstream.front().message();
  EXPECT_EQ(notification.source().kind(), common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION);
  EXPECT_EQ(notification.source().module_id(), "A");
  EXPECT_EQ(nlohmann::json::parse(notification.body())["temp"], 21);
}

TEST_F(HubMessagesTest, AMalformedReportedPatchGets400AndChangesNothing) {
  const int64_t before = TwinOf(kModuleA).reported().version();
  Probe probe = TwinRequest("$iothub/twin/PATCH/properties/reported/?$rid=9", "not json");
  ASSERT_THAT(probe.received(), SizeIs(1)) << probe.output << HubLog();
  EXPECT_EQ(probe.received()[0].first, "$iothub/twin/res/400/?$rid=9");
  EXPECT_THAT(probe.received()[0].second, HasSubstr("message"));
  EXPECT_FALSE(probe.disconnected());
  EXPECT_EQ(TwinOf(kModuleA).reported().version(), before);
}

TEST_F(HubMessagesTest, AnOversizeReportedPatchGets413) {
  const std::string big = absl::StrCat(R"({"blob": ")", std::string(40 * 1024, 'x'), R"("})");
  Probe probe = TwinRequest("$iothub/twin/PATCH/properties/reported/?$rid=10", big);
  ASSERT_THAT(probe.received(), SizeIs(1)) << probe.output << HubLog();
  EXPECT_EQ(probe.received()[0].first, "$iothub/twin/res/413/?$rid=10");
}

TEST_F(HubMessagesTest, ATwinRequestWhileTheStoreIsDownGets503) {
  store_.Stop();
  // The hub waits for the store up to its call deadline (10 s), then answers.
  Probe probe = RunProbe({.client_id = kModuleA,
                          .password = Password(kModuleA),
                          .subscribe = {"$iothub/twin/res/#"},
                          .publish = {"$iothub/twin/GET/?$rid=11"},
                          .message = " ",
                          .expect = 1,
                          .timeout_seconds = 20});
  ASSERT_THAT(probe.received(), SizeIs(1)) << probe.output << HubLog();
  EXPECT_EQ(probe.received()[0].first, "$iothub/twin/res/503/?$rid=11");
  EXPECT_THAT(probe.received()[0].second, HasSubstr("message"));
  EXPECT_FALSE(probe.disconnected());
}

TEST_F(HubMessagesTest, DesiredChangesArePushedToTheSubscribedClient) {
  std::vector<std::string> argv = MosquittoClient(kMosquittoSub, kModuleA, Password(kModuleA));
  argv.insert(argv.end(),
              {"-t", "$iothub/twin/PATCH/properties/desired/#", "-v", "-C", "1", "-W", "20"});
  absl::StatusOr<Subprocess> sub =
      Subprocess::Start({.argv = argv, .log_file = home_.path() / "desired.log"});
  ASSERT_TRUE(sub.ok()) << sub.status();

  // Until the subscription is in place a change reaches nobody: change again until one arrives.
  int64_t version = 0;
  const bool arrived = WaitUntil(
      [&] {
        version = PatchDesired(kModuleA, absl::StrCat(R"({"interval": )", version + 1, "}"));
        return sub->Wait(absl::Milliseconds(300)).ok();
      },
      absl::Seconds(20));
  ASSERT_TRUE(arrived) << ReadLog("desired.log") << HubLog();
  const std::string pushed = ReadLog("desired.log");
  EXPECT_THAT(pushed, HasSubstr("$iothub/twin/PATCH/properties/desired/?$version="));
  EXPECT_THAT(pushed, HasSubstr("\"interval\":"));
  EXPECT_THAT(pushed, HasSubstr("\"$version\":"));
}

class FullJournalTest : public HubMessagesTest {
 protected:
  std::string HubConfigExtra() const override { return "journal_max_bytes = 1048576\n"; }
};

TEST_F(FullJournalTest, AFullJournalDisconnectsThePublisherWithoutAPubackAndLosesNothing) {
  ASSERT_EQ(router_.Stop(), 0);
  ProbeArgs args{.client_id = kLeaf, .password = Password(kLeaf), .payload_size = 200000};
  args.publish.assign(7, kLeafTelemetry);
  Probe probe = RunProbe(args);

  // Five fit in 1 MiB; the sixth does not: no PUBACK, the client is disconnected.
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(probe.puback(i)) << probe.output;
  EXPECT_FALSE(probe.puback(5)) << probe.output;
  EXPECT_TRUE(probe.disconnected()) << probe.output;
  EXPECT_THAT(HubLog(), HasSubstr("without a PUBACK: the ingest journal holds"));

  ASSERT_TRUE(router_.Start().ok()) << router_.Log();
  ASSERT_TRUE(UpstreamHas(5)) << HubLog() << router_.Log();
  EXPECT_THAT(Upstream(), SizeIs(5));
}

}  // namespace
}  // namespace edge::hub
