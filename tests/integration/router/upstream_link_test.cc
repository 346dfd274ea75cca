// The upstream link against a real upstream: a plain mosquitto broker started by the test (TLS,
// a password file, persistence when a case needs them), the real edge-store and edge-router, and a
// libmosquitto subscriber checking what arrives. Messages are appended straight to the store's
// `$upstream` queue, as Ingest would after routing, so these tests are about the link only.
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/certs.h"
#include "common/iothub_topic.h"
#include "common/sas.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace edge::router {
namespace {

using ::edge::testing::MosquittoBroker;
using ::edge::testing::MosquittoBrokerOptions;
using ::edge::testing::MqttTestClient;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::edge::testing::WaitUntil;
using ::testing::HasSubstr;

constexpr char kDevice[] = "edge-1";
constexpr char kHubName[] = "hub.example";
constexpr char kTelemetry[] = "devices/edge-1/messages/events/";
constexpr char kCheckerUser[] = "checker";
constexpr char kCheckerPassword[] = "checker-password";

// A message as the hub would have stored it: sent by `module` of the edge device (a device's own
// telemetry when empty), with application property `seq`.
store::v1::MessageToAppend UpstreamMessage(const std::string& body, int seq,
                                           const std::string& module = "filter") {
  store::v1::MessageToAppend m;
  common::v1::Message* message = m.mutable_message();
  message->set_body(body);
  message->mutable_application_properties()->insert({"seq", std::to_string(seq)});
  message->mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  message->mutable_source()->set_device_id(kDevice);
  message->mutable_source()->set_module_id(module);
  message->set_edge_message_id(absl::StrCat("e", seq));
  store::v1::QueueTarget* target = m.add_queues();
  target->mutable_queue()->set_endpoint("$upstream");
  return m;
}

// The property bag of a telemetry topic, decoded.
MessageProperties BagOf(const std::string& topic) {
  absl::string_view bag = topic;
  EXPECT_TRUE(absl::ConsumePrefix(&bag, kTelemetry)) << topic;
  absl::StatusOr<MessageProperties> properties = DecodeProperties(bag);
  EXPECT_TRUE(properties.ok()) << properties.status();
  return properties.ok() ? *properties : MessageProperties{};
}

// What a subscriber got, by `seq`: the first arrival of each in arrival order, and how many
// arrived more than once.
struct Arrivals {
  std::vector<int> first_seen;
  int duplicates = 0;
};
Arrivals Tally(const std::vector<MqttTestClient::Received>& received) {
  Arrivals arrivals;
  std::set<int> seen;
  for (const MqttTestClient::Received& r : received) {
    const int seq = std::stoi(BagOf(r.topic).application["seq"]);
    if (seen.insert(seq).second) {
      arrivals.first_seen.push_back(seq);
    } else {
      ++arrivals.duplicates;
    }
  }
  return arrivals;
}

class UpstreamLinkTest : public ::testing::Test {
 protected:
  UpstreamLinkTest() : key_(GenerateSymmetricKey()) {}

  // Starts the store and the router with the link to `upstream` (plain unless `tls_ca` is set;
  // authenticated with key_, or with no SharedAccessKey when `sas` is false); `extra` goes into
  // [router].
  void WriteConfig(const MosquittoBroker& upstream, const std::string& extra = "",
                   const std::string& tls_ca = "", bool sas = true) {
    std::ofstream(home_.path() / "config.toml")
        << "[device]\nid = \"" << kDevice << "\"\nconnection_string = \"HostName=" << kHubName
        << ";DeviceId=" << kDevice << (sas ? absl::StrCat(";SharedAccessKey=", key_) : "")
        << ";GatewayHostName=127.0.0.1\"\n"
        << "[router]\nupstream_port = " << upstream.port() << "\n"
        << (tls_ca.empty() ? "upstream_plain = true\n"
                           : absl::StrCat("upstream_ca_file = \"", tls_ca, "\"\n"))
        << "upstream_retry_initial_seconds = 0.05\nupstream_retry_max_seconds = 0.4\n"
        << "delivery_retry_initial_seconds = 0.05\ndelivery_retry_max_seconds = 0.2\n"
        << "replay_window_seconds = 0\n"
        << extra;
  }
  // Starts the store and the router with the link to `upstream` (plain unless `tls_ca` is set;
  // authenticated with key_, or with no SharedAccessKey when `sas` is false); `extra` goes into
  // [router].
  void StartEdge(const MosquittoBroker& upstream, const std::string& extra = "",
                 const std::string& tls_ca = "", bool sas = true) {
    WriteConfig(upstream, extra, tls_ca, sas);
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    ASSERT_TRUE(router_.Start().ok()) << router_.Log();
    router_stub_ = v1::Router::NewStub(router_.Channel());
    store_stub_ = store::v1::MessageStore::NewStub(store_.Channel());
  }

  void TearDown() override {
    if (HasFailure()) std::printf("router log:\n%s\n", router_.Log().c_str());
    if (runtime_up_) Edgectl({"down"});  // whatever happened in between
  }

  void Append(const std::vector<store::v1::MessageToAppend>& messages) {
    store::v1::AppendMessagesRequest request;
    for (const auto& m : messages) *request.add_messages() = m;
    grpc::ClientContext context;
    store::v1::AppendMessagesResponse response;
    grpc::Status status = store_stub_->AppendMessages(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  void AppendRange(int from, int to) {
    std::vector<store::v1::MessageToAppend> batch;
    for (int i = from; i < to; ++i) batch.push_back(UpstreamMessage(absl::StrCat("m", i), i));
    Append(batch);
  }

  v1::EndpointStatsResponse Stats() {
    grpc::ClientContext context;
    v1::EndpointStatsRequest request;
    request.set_endpoint("$upstream");
    v1::EndpointStatsResponse response;
    grpc::Status status = router_stub_->EndpointStats(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  v1::UpstreamLinkStats Link() { return Stats().upstream(); }
  uint64_t Depth() {
    uint64_t depth = 0;
    const v1::EndpointStatsResponse stats = Stats();
    for (const v1::EndpointQueueStats& q : stats.queues()) depth += q.depth();
    return depth;
  }

  // A password file holding the checker's login and `password` for the edge device's username.
  std::filesystem::path PasswordFile(const std::string& device_password) {
    const std::filesystem::path file = home_.path() / "passwords";
    std::ofstream(file, std::ios::trunc).close();
    for (const auto& [user, password] : std::map<std::string, std::string>{
             {kCheckerUser, kCheckerPassword}, {DeviceUsername(), device_password}}) {
      testing::Finished passwd =
          testing::RunToExit({"/usr/bin/mosquitto_passwd", "-b", file.string(), user, password});
      EXPECT_TRUE(passwd.ExitedWith(0)) << "mosquitto_passwd for " << user << ": " << passwd.output;
    }
    return file;
  }
  static std::string DeviceUsername() {
    return absl::StrCat(kHubName, "/", kDevice, "/?api-version=2021-04-12");
  }
  // The token the link presents now: the resource and key it was configured with, the expiry it
  // reports.
  std::string TokenInUse() {
    const int64_t expires_ms = Link().token_expires_unix_ms();
    EXPECT_GT(expires_ms, 0);
    absl::StatusOr<std::string> token = MakeSasToken(absl::StrCat(kHubName, "/devices/", kDevice),
                                                     key_, absl::FromUnixMillis(expires_ms));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  testing::Finished Edgectl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {(testing::BinDir() / "edgectl").string(), "--edge-home", home_.path().string()});
    return testing::RunToExit(args, absl::Seconds(30));
  }

  bool RouterRunning() { return !router_.process()->Poll().has_value(); }

  const std::string key_;
  bool runtime_up_ = false;  // `edgectl up` ran
  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess router_{"router", home_.path()};
  std::unique_ptr<v1::Router::Stub> router_stub_;
  std::unique_ptr<store::v1::MessageStore::Stub> store_stub_;
};

TEST_F(UpstreamLinkTest, TelemetryArrivesWithItsPropertiesAndOrigin) {
  MosquittoBroker upstream({.dir = home_.path() / "upstream"});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  MqttTestClient checker({.client_id = "checker", .port = upstream.port()});
  ASSERT_TRUE(checker.Subscribe("devices/#"));
  StartEdge(upstream);

  store::v1::MessageToAppend from_module = UpstreamMessage("{\"temp\":21}", 1);
  (*from_module.mutable_message()->mutable_system_properties())["messageId"] = "m-1";
  (*from_module.mutable_message()->mutable_system_properties())["contentType"] = "application/json";
  (*from_module.mutable_message()->mutable_application_properties())["alert"] = "a b&c=d";
  from_module.mutable_message()->mutable_source()->set_output_name("out1");
  store::v1::MessageToAppend from_device = UpstreamMessage("device says hi", 2, /*module=*/"");
  Append({from_module, from_device});

  ASSERT_TRUE(WaitUntil([&] { return checker.Count() >= 2; })) << checker.Count();
  const std::vector<MqttTestClient::Received> got = checker.Messages();
  ASSERT_EQ(got.size(), 2u);

  EXPECT_EQ(got[0].payload, "{\"temp\":21}");
  EXPECT_TRUE(absl::StartsWith(got[0].topic, kTelemetry)) << got[0].topic;
  EXPECT_THAT(got[0].topic, HasSubstr("%24.cdid=edge-1"));
  EXPECT_THAT(got[0].topic, HasSubstr("%24.cmid=filter"));
  const MessageProperties module_bag = BagOf(got[0].topic);
  EXPECT_EQ(module_bag.system.at("messageId"), "m-1");
  EXPECT_EQ(module_bag.system.at("contentType"), "application/json");
  EXPECT_EQ(module_bag.application.at("alert"), "a b&c=d");
  EXPECT_EQ(module_bag.application.at("seq"), "1");
  EXPECT_EQ(module_bag.application.at("edge-origin-device"), "edge-1");
  EXPECT_EQ(module_bag.application.at("edge-origin-module"), "filter");
  EXPECT_EQ(module_bag.application.at("edge-origin-output"), "out1");

  EXPECT_EQ(got[1].payload, "device says hi");
  EXPECT_THAT(got[1].topic, ::testing::Not(HasSubstr("%24.cmid")));
  const MessageProperties device_bag = BagOf(got[1].topic);
  EXPECT_EQ(device_bag.application.at("edge-origin-device"), "edge-1");
  EXPECT_EQ(device_bag.application.count("edge-origin-module"), 0u);

  ASSERT_TRUE(WaitUntil([&] { return Depth() == 0; }));  // checkpointed on the PUBACK
  const v1::UpstreamLinkStats link = Link();
  EXPECT_TRUE(link.configured());
  EXPECT_TRUE(link.online());
  EXPECT_GT(link.since_unix_ms(), 0);
  EXPECT_EQ(link.address(), absl::StrCat("127.0.0.1:", upstream.port()));
  EXPECT_EQ(link.transport(), "plain");
  EXPECT_EQ(link.authentication(), "sas");
  EXPECT_EQ(link.connects(), 1u);
  EXPECT_EQ(link.acked(), 2u);

  const testing::Finished list = Edgectl({"endpoint", "list"});
  EXPECT_TRUE(list.ExitedWith(0)) << list.output;
  EXPECT_THAT(list.output, HasSubstr(absl::StrCat("upstream link: online for ")));
  EXPECT_THAT(list.output, HasSubstr(absl::StrCat("(127.0.0.1:", upstream.port(),
                                                  " as edge-1, plain, sas); 2 acked")));
  const testing::Finished metrics = Edgectl({"metrics", "router"});
  EXPECT_THAT(metrics.output, HasSubstr("edge_router_upstream_connected 1\n"));
  EXPECT_THAT(metrics.output, HasSubstr("edge_router_upstream_connects_total 1\n"));
  EXPECT_THAT(metrics.output, HasSubstr("edge_router_upstream_published_total 2\n"));
  EXPECT_THAT(metrics.output, HasSubstr("edge_router_upstream_acked_total 2\n"));
  EXPECT_THAT(metrics.output, HasSubstr("edge_router_upstream_in_flight 0\n"));
}

TEST_F(UpstreamLinkTest, MessageOverTheSizeLimitIsRejectedAndTheRestGoOn) {
  MosquittoBroker upstream({.dir = home_.path() / "upstream"});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  MqttTestClient checker({.client_id = "checker", .port = upstream.port()});
  ASSERT_TRUE(checker.Subscribe("devices/#"));
  StartEdge(upstream);

  Append({UpstreamMessage("before", 1), UpstreamMessage(std::string(kMaxMessageBytes, 'x'), 2),
          UpstreamMessage("after", 3)});

  ASSERT_TRUE(WaitUntil([&] { return checker.Count() >= 2 && Depth() == 0; }));
  const std::vector<MqttTestClient::Received> got = checker.Messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "before");
  EXPECT_EQ(got[1].payload, "after");
  const v1::EndpointStatsResponse stats = Stats();
  EXPECT_EQ(stats.upstream().rejected(), 1u);
  ASSERT_EQ(stats.queues_size(), 1);
  EXPECT_EQ(stats.queues(0).rejected(), 1u);
  EXPECT_EQ(stats.queues(0).delivered(), 2u);
  EXPECT_TRUE(stats.upstream().online());  // the link never sent it: no disconnect
  EXPECT_EQ(stats.upstream().connects(), 1u);
}

// The upstream goes away while messages keep coming into the edge, and comes back: everything
// arrives, in order (the first arrival of each), none lost; the ones in flight at the cut may
// arrive twice (at least once), counted.
TEST_F(UpstreamLinkTest, EverythingQueuedDuringAnOutageArrivesInOrder) {
  MosquittoBroker upstream({.dir = home_.path() / "upstream", .persistence = true});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  // A persistent session: what the broker queued for it survives the broker's restart.
  MqttTestClient checker({.client_id = "checker", .port = upstream.port(), .clean_session = false});
  ASSERT_TRUE(checker.Subscribe("devices/#"));
  StartEdge(upstream);

  // 20 messages every 5 ms into the edge, all along.
  std::atomic<bool> publishing{true};
  std::atomic<int> appended{0};
  std::thread publisher([&] {
    while (publishing) {
      AppendRange(appended, appended + 20);
      appended += 20;
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return checker.Count() >= 200; }));
  upstream.Stop();  // mid-stream: publishes are in flight
  const int at_cut = appended;
  EXPECT_TRUE(WaitUntil([&] { return Link().connect_failures() >= 2 && appended > at_cut + 200; }));
  const v1::EndpointStatsResponse offline = Stats();
  EXPECT_FALSE(offline.upstream().online());
  EXPECT_FALSE(offline.upstream().last_error().empty());
  ASSERT_EQ(offline.queues_size(), 1);
  EXPECT_THAT(offline.queues(0).state(), HasSubstr("upstream offline"));
  EXPECT_GT(offline.queues(0).depth(), 0u);

  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  EXPECT_TRUE(WaitUntil([&] { return Link().online(); }));
  absl::SleepFor(absl::Milliseconds(300));
  publishing = false;
  publisher.join();
  const int total = appended;
  ASSERT_TRUE(WaitUntil([&] { return Tally(checker.Messages()).first_seen.size() >= total; },
                        absl::Seconds(20)))
      << Tally(checker.Messages()).first_seen.size() << " of " << total;
  const Arrivals arrivals = Tally(checker.Messages());
  std::vector<int> expected(total);
  for (int i = 0; i < total; ++i) expected[i] = i;
  EXPECT_EQ(arrivals.first_seen, expected);
  RecordProperty("duplicates", arrivals.duplicates);
  std::printf("outage: %d messages (%d before the cut), %d duplicates, link connects %llu\n", total,
              at_cut, arrivals.duplicates, static_cast<unsigned long long>(Link().connects()));
  EXPECT_GE(Link().connects(), 2u);
  EXPECT_TRUE(WaitUntil([&] { return Depth() == 0; }));
}

// A broker that requires a login and refuses the link's: the error is shown, the router keeps
// running and retrying with backoff; once the broker accepts the token the link presents, the
// link comes up (the same token is presented on every attempt until it is due for renewal).
TEST_F(UpstreamLinkTest, RefusedCredentialIsReportedAndRetriedUntilAccepted) {
  MosquittoBroker upstream(
      {.dir = home_.path() / "upstream", .password_file = PasswordFile("not-the-token")});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  StartEdge(upstream);

  ASSERT_TRUE(WaitUntil([&] { return Link().connect_failures() >= 3; }));
  const v1::UpstreamLinkStats refused = Link();
  EXPECT_FALSE(refused.online());
  EXPECT_THAT(refused.last_error(), HasSubstr("CONNACK refused"));
  EXPECT_THAT(refused.last_error(), HasSubstr("not authorised"));
  EXPECT_EQ(refused.connects(), 0u);
  EXPECT_TRUE(RouterRunning());
  const testing::Finished list = Edgectl({"endpoint", "list"});
  EXPECT_THAT(list.output, HasSubstr("upstream link: offline"));
  EXPECT_THAT(list.output, HasSubstr("CONNACK refused: Connection Refused: not authorised."));
  const testing::Finished metrics = Edgectl({"metrics", "router"});
  EXPECT_THAT(metrics.output, HasSubstr("edge_router_upstream_connected 0\n"));
  EXPECT_THAT(metrics.output, ::testing::ContainsRegex(
                                  "edge_router_upstream_connect_failures_total [1-9][0-9]*\n"));

  PasswordFile(TokenInUse());
  upstream.Reload();
  MqttTestClient checker({.client_id = "checker",
                          .port = upstream.port(),
                          .username = kCheckerUser,
                          .password = kCheckerPassword});
  ASSERT_TRUE(checker.Subscribe("devices/#"));
  ASSERT_TRUE(WaitUntil([&] { return Link().online(); }));
  Append({UpstreamMessage("accepted", 1)});
  ASSERT_TRUE(WaitUntil([&] { return checker.Count() >= 1; }));
  EXPECT_EQ(checker.Messages()[0].payload, "accepted");
  EXPECT_THAT(Link().last_error(), HasSubstr("not authorised"));  // kept after recovery
}

// TLS with the configured CA and the SAS token as the password: the broker's listener speaks TLS
// only and its password file holds exactly the token the link presents.
TEST_F(UpstreamLinkTest, TlsWithSasTokenAsPassword) {
  const std::filesystem::path certs = home_.path() / "upstream-certs";
  ASSERT_TRUE(CreateEdgeCertificates(certs, "127.0.0.1", false).ok());
  MosquittoBroker upstream({.dir = home_.path() / "upstream",
                            .certfile = ServerCertPath(certs),
                            .keyfile = ServerKeyPath(certs),
                            .password_file = PasswordFile("unknown-yet")});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  StartEdge(upstream, "", CaCertPath(certs).string());
  // The TLS handshake succeeded (a CONNACK came back, refusing the login): only then is the token
  // known to the test.
  ASSERT_TRUE(WaitUntil([&] { return absl::StrContains(Link().last_error(), "CONNACK"); }))
      << Link().DebugString();
  PasswordFile(TokenInUse());
  upstream.Reload();
  MqttTestClient checker({.client_id = "checker",
                          .port = upstream.port(),
                          .cafile = CaCertPath(certs).string(),
                          .username = kCheckerUser,
                          .password = kCheckerPassword});
  ASSERT_TRUE(checker.Subscribe("devices/#"));
  ASSERT_TRUE(WaitUntil([&] { return Link().online(); })) << Link().DebugString();
  EXPECT_EQ(Link().transport(), "tls");
  Append({UpstreamMessage("over tls", 1)});
  ASSERT_TRUE(WaitUntil([&] { return checker.Count() >= 1; }));
  EXPECT_EQ(checker.Messages()[0].payload, "over tls");
}

TEST_F(UpstreamLinkTest, UntrustedServerCertificateIsAnErrorNotACrash) {
  const std::filesystem::path certs = home_.path() / "upstream-certs";
  const std::filesystem::path other = home_.path() / "other-ca";
  ASSERT_TRUE(CreateEdgeCertificates(certs, "127.0.0.1", false).ok());
  ASSERT_TRUE(CreateEdgeCertificates(other, "127.0.0.1", false).ok());
  MosquittoBroker upstream({.dir = home_.path() / "upstream",
                            .certfile = ServerCertPath(certs),
                            .keyfile = ServerKeyPath(certs)});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  StartEdge(upstream, "", CaCertPath(other).string());
  ASSERT_TRUE(WaitUntil([&] { return Link().connect_failures() >= 2; }));
  EXPECT_FALSE(Link().online());
  EXPECT_FALSE(Link().last_error().empty());
  EXPECT_TRUE(RouterRunning());
}

TEST_F(UpstreamLinkTest, X509ClientCertificateInsteadOfASasToken) {
  const std::filesystem::path certs = home_.path() / "upstream-certs";
  ASSERT_TRUE(CreateEdgeCertificates(certs, "127.0.0.1", false).ok());
  const std::filesystem::path cert = home_.path() / "edge-1.pem";
  const std::filesystem::path key = home_.path() / "edge-1.key.pem";
  ASSERT_TRUE(CreateClientCertificate(certs, kDevice, cert, key).ok());
  MosquittoBroker upstream({.dir = home_.path() / "upstream",
                            .certfile = ServerCertPath(certs),
                            .keyfile = ServerKeyPath(certs),
                            .cafile = CaCertPath(certs),
                            .require_certificate = true});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  StartEdge(upstream,
            absl::StrCat("upstream_cert_file = \"", cert.string(), "\"\nupstream_key_file = \"",
                         key.string(), "\"\n"),
            CaCertPath(certs).string(), /*sas=*/false);
  ASSERT_TRUE(WaitUntil([&] { return Link().online(); })) << Link().DebugString();
  EXPECT_EQ(Link().authentication(), "x509");
  EXPECT_EQ(Link().token_expires_unix_ms(), 0);
}

// With a short token lifetime the link reconnects with a fresh token before the old one expires,
// and what it carries keeps arriving in order.
TEST_F(UpstreamLinkTest, SasTokenIsRenewedBeforeItExpires) {
  MosquittoBroker upstream({.dir = home_.path() / "upstream"});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  MqttTestClient checker({.client_id = "checker", .port = upstream.port()});
  ASSERT_TRUE(checker.Subscribe("devices/#"));
  StartEdge(upstream, "upstream_sas_lifetime_seconds = 2\n");
  ASSERT_TRUE(WaitUntil([&] { return Link().online(); }));
  const int64_t first_expiry = Link().token_expires_unix_ms();
  EXPECT_LE(absl::FromUnixMillis(first_expiry), absl::Now() + absl::Seconds(2));

  int appended = 0;
  const absl::Time end = absl::Now() + absl::Seconds(4);
  while (absl::Now() < end) {
    AppendRange(appended, appended + 10);
    appended += 10;
    absl::SleepFor(absl::Milliseconds(100));
  }
  const v1::UpstreamLinkStats link = Link();
  EXPECT_GE(link.connects(), 3u);  // renewed at 80% of 2 s: every 1.6 s
  EXPECT_GT(link.token_expires_unix_ms(), first_expiry);
  EXPECT_EQ(link.connect_failures(), 0u);
  ASSERT_TRUE(WaitUntil([&] { return Tally(checker.Messages()).first_seen.size() >= appended; }));
  const Arrivals arrivals = Tally(checker.Messages());
  for (int i = 0; i < appended; ++i) ASSERT_EQ(arrivals.first_seen[i], i);
  EXPECT_TRUE(RouterRunning());
}

// The whole runtime under `edgectl up` (the hub's MQTT listeners off): `edgectl status` ends with
// the upstream link's line, and has it in JSON.
TEST_F(UpstreamLinkTest, EdgectlStatusShowsTheUpstreamLink) {
  MosquittoBroker upstream({.dir = home_.path() / "upstream"});
  ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
  WriteConfig(upstream);
  std::ofstream(home_.path() / "config.toml", std::ios::app)
      << "[hub]\nsas_port = 0\nx509_port = 0\n";
  runtime_up_ = true;
  const testing::Finished up = Edgectl({"up"});
  ASSERT_TRUE(up.ExitedWith(0)) << up.output;
  testing::Finished status;
  EXPECT_TRUE(WaitUntil([&] {
    status = Edgectl({"status"});
    return absl::StrContains(status.output, "upstream link: online for");
  })) << status.output;
  EXPECT_THAT(status.output,
              HasSubstr(absl::StrCat("(127.0.0.1:", upstream.port(), " as edge-1, plain, sas)")));
  const testing::Finished json = Edgectl({"status", "-o", "json"});
  const nlohmann::json doc = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json.output;
  EXPECT_EQ(doc["upstream"]["online"], true) << json.output;
  EXPECT_EQ(doc["upstream"]["address"], absl::StrCat("127.0.0.1:", upstream.port()));

  upstream.Stop();
  EXPECT_TRUE(WaitUntil([&] {
    status = Edgectl({"status"});
    return absl::StrContains(status.output, "upstream link: offline for");
  })) << status.output;
  const testing::Finished down = Edgectl({"down"});
  EXPECT_TRUE(down.ExitedWith(0)) << down.output;
  runtime_up_ = false;
}

TEST_F(UpstreamLinkTest, ConnectionStringOfAnotherDeviceStopsTheRouterNamingTheKey) {
  std::ofstream(home_.path() / "config.toml")
      << "[device]\nid = \"edge-1\"\nconnection_string = \"HostName=h;DeviceId=other;"
      << "SharedAccessKey=" << key_ << "\"\n";
  EXPECT_FALSE(router_.Start(absl::Seconds(3)).ok());
  EXPECT_THAT(router_.Log(), HasSubstr("device.connection_string"));
}

}  // namespace
}  // namespace edge::router
