// Authentication and authorisation on the real hub (edge-hub → mosquitto with our plugin) with the
// real edge-store holding the identities, driven over TLS by clients nobody here wrote:
// mosquitto_pub / mosquitto_sub and python3-paho-mqtt (mqtt_probe.py, one session per run).
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/certs.h"
#include "common/sas.h"
#include "common/subprocess.h"
#include "edge/hub/v1/hub.grpc.pb.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/hub/hub_fixture.h"
#include "tests/support/free_port.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::hub {
namespace {

using ::edge::testing::Finished;
using ::edge::testing::FreeLoopbackPort;
using ::edge::testing::RunToExit;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class HubAuthTest : public HubFixture {};

TEST_F(HubAuthTest, DeviceAndModuleConnectWithSasTokensUsingMosquittoClients) {
  const std::string device_key = AddSasIdentity("sensor-1");
  const std::string module_key = AddSasIdentity("edge-device/filter");
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", device_key), true)) << HubLog();

  Finished device = MosquittoPub("sensor-1", Token("sensor-1", device_key),
                                 "devices/sensor-1/messages/events/kind=reading");
  Finished module = MosquittoPub("edge-device/filter", Token("edge-device/filter", module_key),
                                 "devices/edge-device/modules/filter/messages/events/%24.on=alert");
  std::vector<std::string> sub_argv =
      MosquittoClient(kMosquittoSub, "sensor-1", Token("sensor-1", device_key));
  sub_argv.insert(sub_argv.end(), {"-t", "devices/sensor-1/messages/devicebound/#", "-E"});
  Finished sub = RunToExit(sub_argv);

  EXPECT_TRUE(device.ExitedWith(0)) << device.output << HubLog();
  EXPECT_TRUE(module.ExitedWith(0)) << module.output << HubLog();
  EXPECT_TRUE(sub.ExitedWith(0)) << sub.output << HubLog();
  EXPECT_THAT(HubLog(), HasSubstr("client \"sensor-1\" connected (sas)"));
  EXPECT_THAT(HubLog(), HasSubstr("client \"edge-device/filter\" connected (sas)"));
}

TEST_F(HubAuthTest, SecondaryKeyAndADeviceTokenForItsModuleAreAccepted) {
  AddSasIdentity("edge-device/filter");
  store::v1::GetIdentityRequest get;
  get.set_id("edge-device/filter");
  grpc::ClientContext context;
  store::v1::Identity module;
  ASSERT_TRUE(identities_->GetIdentity(&context, get, &module).ok());
  get.set_id("edge-device");
  grpc::ClientContext device_context;
  store::v1::Identity device;
  ASSERT_TRUE(identities_->GetIdentity(&device_context, get, &device).ok());

  EXPECT_TRUE(EventuallyConnects("edge-device/filter",
                                 Token("edge-device/filter", module.secondary_key()), true))
      << HubLog();
  EXPECT_EQ(RunProbe({.client_id = "edge-device/filter",
                      .password = Token("edge-device", device.primary_key())})
                .connack(),
            0)
      << HubLog();
}

TEST_F(HubAuthTest, EveryBadConnectionIsRefusedNotAuthorisedWithItsReasonLogged) {
  const std::string key = AddSasIdentity("sensor-1");
  const std::string other_key = AddSasIdentity("sensor-2");
  const std::string off_key = AddSasIdentity("sensor-off", /*disabled=*/true);
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", key), true)) << HubLog();
  std::string forged = Token("sensor-1", key);
  forged[forged.find("sig=") + 4] ^= 1;  // one character of the signature
  struct Case {
    ProbeArgs args;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {{.client_id = "sensor-1", .password = forged}, "bad_signature"},
      {{.client_id = "sensor-1", .password = Token("sensor-1", key, -absl::Minutes(10))},
       "expired_token"},
      {{.client_id = "sensor-1", .password = Token("sensor-1", other_key)}, "bad_signature"},
      {{.client_id = "sensor-1", .password = Token("sensor-2", key)}, "wrong_resource"},
      {{.client_id = "nobody", .password = Token("nobody", key)}, "unknown_identity"},
      {{.client_id = "sensor-2",
        .username = UsernameFor("sensor-1"),
        .password = Token("sensor-1", key)},
       "client_id_mismatch"},
      {{.client_id = "sensor-off", .password = Token("sensor-off", off_key)}, "disabled"},
      {{.client_id = "sensor-1", .username = "sensor-1", .password = Token("sensor-1", key)},
       "malformed_username"},
      {{.client_id = "sensor-1",
        .username = "localhost/sensor-1/?DeviceClientType=x",
        .password = Token("sensor-1", key)},
       "malformed_username"},
      {{.client_id = "sensor-1", .password = "not a token"}, "malformed_token"},
  };
  for (const Case& c : cases) {
    Probe probe = RunProbe(c.args);
    EXPECT_EQ(probe.connack(), 5) << c.reason << ": " << probe.output;  // not authorised
  }
  const std::string log = HubLog();
  for (const Case& c : cases) {
    EXPECT_THAT(log, HasSubstr(absl::StrCat("\"", c.args.client_id, "\""))) << c.reason;
    EXPECT_THAT(log, HasSubstr(absl::StrCat(": ", c.reason, ": "))) << c.reason;
  }
}

TEST_F(HubAuthTest, X509DeviceConnectsWithACertificateSignedByTheDeviceCa) {
  AddX509Identity("cam-1");
  AddX509Identity("cam-2");
  AddSasIdentity("sensor-1");
  const std::filesystem::path certs = CertsDir(home_.path());
  ASSERT_TRUE(CreateClientCertificate(certs, "cam-1", home_.path() / "cam-1.pem",
                                      home_.path() / "cam-1.key.pem")
                  .ok());
  ASSERT_TRUE(CreateClientCertificate(certs, "sensor-1", home_.path() / "sensor-1.pem",
                                      home_.path() / "sensor-1.key.pem")
                  .ok());
  TempDir other_ca;
  ASSERT_TRUE(CreateEdgeCertificates(other_ca.path(), "localhost", false).ok());
  ASSERT_TRUE(CreateClientCertificate(other_ca.path(), "cam-2", home_.path() / "cam-2.pem",
                                      home_.path() / "cam-2.key.pem")
                  .ok());
  const auto cert = [&](const std::string& name) { return home_.path() / (name + ".pem"); };
  const auto key = [&](const std::string& name) { return home_.path() / (name + ".key.pem"); };

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  Probe good;
  do {
    good = RunProbe({.client_id = "cam-1",
                     .publish = {"devices/cam-1/messages/events/"},
                     .cert = cert("cam-1"),
                     .key = key("cam-1")});
  } while (good.connack() != 0 && absl::Now() < deadline);
  EXPECT_EQ(good.connack(), 0) << good.output << HubLog();
  EXPECT_TRUE(good.puback()) << good.output;

  // Signed by another CA: the TLS handshake fails, the client never gets to CONNECT.
  Probe wrong_ca = RunProbe({.client_id = "cam-2", .cert = cert("cam-2"), .key = key("cam-2")});
  EXPECT_NE(wrong_ca.connack(), 0) << wrong_ca.output;
  // CN cam-1 presented for cam-2.
  Probe mismatch = RunProbe({.client_id = "cam-2", .cert = cert("cam-1"), .key = key("cam-1")});
  EXPECT_EQ(mismatch.connack(), 5) << mismatch.output;
  // A SAS identity with a certificate.
  Probe sas_with_cert =
      RunProbe({.client_id = "sensor-1", .cert = cert("sensor-1"), .key = key("sensor-1")});
  EXPECT_EQ(sas_with_cert.connack(), 5) << sas_with_cert.output;

  const std::string log = HubLog();
  EXPECT_THAT(log, HasSubstr("client \"cam-1\" connected (x509)"));
  EXPECT_THAT(log, HasSubstr("certificate_mismatch: certificate CN \"cam-1\" is not \"cam-2\""));
  EXPECT_THAT(log, HasSubstr("wrong_auth_type"));
}

TEST_F(HubAuthTest, ClientsSubscribeOnlyToTheirOwnFilters) {
  const std::string device_key = AddSasIdentity("sensor-1");
  AddSasIdentity("sensor-2");
  const std::string module_key = AddSasIdentity("edge-device/filter");
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", device_key), true)) << HubLog();

  Probe device =
      RunProbe({.client_id = "sensor-1",
                .password = Token("sensor-1", device_key),
                .subscribe = {"devices/sensor-1/messages/devicebound/#", "$iothub/twin/res/#",
                              "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#",
                              "devices/sensor-2/messages/devicebound/#", "#",
                              "devices/+/messages/devicebound/#", "$SYS/#", "arbitrary/topic"}});
  Probe module = RunProbe({.client_id = "edge-device/filter",
                           .password = Token("edge-device/filter", module_key),
                           .subscribe = {"devices/edge-device/modules/filter/inputs/#",
                                         "devices/edge-device/modules/other/inputs/#",
                                         "devices/edge-device/modules/+/inputs/#"}});

  EXPECT_EQ(device.granted(), (std::vector<int>{1, 1, 1, 1, 128, 128, 128, 128, 128}))
      << device.output;
  EXPECT_FALSE(device.disconnected());
  EXPECT_EQ(module.granted(), (std::vector<int>{1, 128, 128})) << module.output;
}

TEST_F(HubAuthTest, PublishingOutsideItsOwnTopicsDisconnectsWithoutPuback) {
  const std::string device_key = AddSasIdentity("sensor-1");
  AddSasIdentity("sensor-2");
  const std::string module_key = AddSasIdentity("edge-device/filter");
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", device_key), true)) << HubLog();
  struct Case {
    std::string identity;
    std::string key;
    std::string topic;
  };
  const std::vector<Case> cases = {
      {"sensor-1", device_key, "devices/sensor-2/messages/events/"},
      {"sensor-1", device_key, "devices/sensor-1/modules/filter/messages/events/"},
      {"edge-device/filter", module_key, "devices/edge-device/modules/other/inputs/in1/"},
      {"edge-device/filter", module_key, "devices/edge-device/messages/events/"},
      {"sensor-1", device_key, "$iothub/unknown/thing"},
      {"sensor-1", device_key, "arbitrary/topic"},
  };
  for (const Case& c : cases) {
    // The client's own topic first: that one is acknowledged, then the violation is not.
    const std::string own = c.identity == "sensor-1"
                                ? "devices/sensor-1/messages/events/"
                                : "devices/edge-device/modules/filter/messages/events/";
    Probe probe = RunProbe(
        {.client_id = c.identity, .password = Token(c.identity, c.key), .publish = {own, c.topic}});
    EXPECT_TRUE(probe.puback(0)) << c.topic << ": " << probe.output;
    EXPECT_FALSE(probe.puback(1)) << c.topic << ": " << probe.output;
    EXPECT_TRUE(probe.disconnected()) << c.topic << ": " << probe.output;
  }
  // Over 256 KiB of body and properties.
  Probe oversize = RunProbe({.client_id = "sensor-1",
                             .password = Token("sensor-1", device_key),
                             .publish = {"devices/sensor-1/messages/events/a=b"},
                             .payload_size = 262144});
  EXPECT_FALSE(oversize.puback(0)) << oversize.output;
  EXPECT_TRUE(oversize.disconnected()) << oversize.output;
  // Just at the limit: 262,144 bytes of body with no properties is allowed.
  Probe at_limit = RunProbe({.client_id = "sensor-1",
                             .password = Token("sensor-1", device_key),
                             .publish = {"devices/sensor-1/messages/events/"},
                             .payload_size = 262144});
  EXPECT_TRUE(at_limit.puback(0)) << at_limit.output;
  EXPECT_FALSE(at_limit.disconnected());
  EXPECT_THAT(HubLog(), HasSubstr("262146 bytes of body and properties"));
}

// mosquitto refuses writes to $SYS/ itself (before any plugin callback), so the hub cannot turn
// them into a disconnect: a 3.1.1 client gets the broker's PUBACK and the message goes nowhere.
TEST_F(HubAuthTest, PublishToSysIsDroppedByTheBrokerBeforeTheHubSeesIt) {
  const std::string key = AddSasIdentity("sensor-1");
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", key), true)) << HubLog();

  Probe probe = RunProbe({.client_id = "sensor-1",
                          .password = Token("sensor-1", key),
                          .publish = {"$SYS/broker/anything"}});

  EXPECT_FALSE(probe.disconnected()) << probe.output;
  EXPECT_THAT(HubLog(), Not(HasSubstr("$SYS/broker/anything")));
}

TEST_F(HubAuthTest, IdentityChangesTakeEffectWithoutARestart) {
  // Unknown at first.
  EXPECT_EQ(RunProbe({.client_id = "late-1", .password = "SharedAccessSignature sr=x&sig=y&se=1"})
                .connack(),
            5);
  const std::string key = AddSasIdentity("late-1");
  EXPECT_TRUE(EventuallyConnects("late-1", Token("late-1", key), true)) << HubLog();

  // A connected client of an identity that gets disabled is disconnected; new connections fail.
  const size_t connections_before = CountOf(HubLog(), "client \"late-1\" connected");
  absl::StatusOr<Subprocess> sub = HoldConnection("late-1", Token("late-1", key));
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_TRUE(WaitUntil(
      [&] { return CountOf(HubLog(), "client \"late-1\" connected") > connections_before; }));
  SetEnabled("late-1", false);

  EXPECT_TRUE(EventuallyConnects("late-1", Token("late-1", key), false)) << HubLog();
  EXPECT_TRUE(WaitUntil([&] {
    return absl::StrContains(HubLog(),
                             "disconnecting client \"late-1\": its identity was disabled");
  })) << HubLog();
  sub->Stop(absl::Seconds(1));

  SetEnabled("late-1", true);
  EXPECT_TRUE(EventuallyConnects("late-1", Token("late-1", key), true)) << HubLog();
}

TEST_F(HubAuthTest, AClientIsDisconnectedWhenItsTokenExpires) {
  const std::string key = AddSasIdentity("short-1");
  ASSERT_TRUE(EventuallyConnects("short-1", Token("short-1", key), true)) << HubLog();
  // Accepted for 3 more seconds: `se` is 5 minutes (the skew allowed) minus 3 s ago.
  const std::string token = Token("short-1", key, absl::Seconds(3) - kSasClockSkew);
  absl::StatusOr<Subprocess> sub = HoldConnection("short-1", token);
  ASSERT_TRUE(sub.ok()) << sub.status();
  const absl::Time start = absl::Now();
  ASSERT_TRUE(WaitUntil([&] { return CountOf(HubLog(), "client \"short-1\" connected") >= 2; }))
      << HubLog();

  EXPECT_TRUE(WaitUntil(
      [&] {
        return absl::StrContains(HubLog(),
                                 "disconnecting client \"short-1\": its SAS token expired at");
      },
      absl::Seconds(15)))
      << HubLog();
  EXPECT_GE(absl::Now() - start, absl::Seconds(2)) << "not before the token expired";
  sub->Stop(absl::Seconds(1));
  // The same token is refused now; a fresh one is accepted.
  Probe refused = RunProbe({.client_id = "short-1", .password = token});
  EXPECT_EQ(refused.connack(), 5) << refused.output;
  EXPECT_THAT(HubLog(), HasSubstr("expired_token"));
  EXPECT_EQ(RunProbe({.client_id = "short-1", .password = Token("short-1", key)}).connack(), 0);
}

TEST_F(HubAuthTest, AuthenticationKeepsWorkingWhileTheStoreIsDownAcrossAHubRestart) {
  const std::string key = AddSasIdentity("sensor-1");
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", key), true)) << HubLog();

  store_.Kill();
  Probe while_down = RunProbe({.client_id = "sensor-1",
                               .password = Token("sensor-1", key),
                               .publish = {"devices/sensor-1/messages/events/"}});
  EXPECT_EQ(while_down.connack(), 0) << while_down.output << HubLog();
  EXPECT_TRUE(while_down.puback()) << while_down.output;

  // A hub started while the store is down authenticates from its identity cache.
  ASSERT_EQ(hub_.Stop(), 0) << HubLog();
  ASSERT_TRUE(hub_.Start().ok()) << HubLog();
  Probe after_restart = RunProbe({.client_id = "sensor-1", .password = Token("sensor-1", key)});
  EXPECT_EQ(after_restart.connack(), 0) << after_restart.output << HubLog();
  EXPECT_EQ(RunProbe({.client_id = "nobody", .password = Token("nobody", key)}).connack(), 5);

  // The store comes back; the watch resumes and new identities arrive.
  ASSERT_TRUE(store_.Start().ok()) << store_.Log();
  const std::string late_key = AddSasIdentity("sensor-late");
  EXPECT_TRUE(EventuallyConnects("sensor-late", Token("sensor-late", late_key), true)) << HubLog();
}

// `edgectl up` starts every service at once: a hub that came up before the store must pick the
// identities up promptly once the store answers (not after gRPC's default reconnect backoff).
TEST_F(HubAuthTest, HubStartedBeforeTheStoreLoadsIdentitiesOnceTheStoreIsUp) {
  const std::string key = AddSasIdentity("sensor-1");
  ASSERT_EQ(hub_.Stop(), 0) << HubLog();
  store_.Kill();
  std::filesystem::remove(home_.path() / "data/hub-identities.cache");
  ASSERT_TRUE(hub_.Start().ok()) << HubLog();
  absl::SleepFor(absl::Seconds(2));  // the hub's watch has failed a few times by now

  ASSERT_TRUE(store_.Start().ok()) << store_.Log();
  const absl::Time store_up = absl::Now();
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", key), true)) << HubLog();
  const absl::Duration took = absl::Now() - store_up;

  std::cout << "identities usable " << absl::FormatDuration(took) << " after the store was up\n";
  EXPECT_LT(took, absl::Seconds(2));
}

TEST_F(HubAuthTest, HubInfoCountsConnectionsAndASecondConnectionReplacesTheFirst) {
  const std::string key = AddSasIdentity("sensor-1");
  ASSERT_TRUE(EventuallyConnects("sensor-1", Token("sensor-1", key), true)) << HubLog();
  absl::StatusOr<Subprocess> sub = HoldConnection("sensor-1", Token("sensor-1", key));
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_TRUE(WaitUntil([&] { return ConnectedClients() == 1; })) << ConnectedClients();

  // A second connection with the same client id replaces the first; the hub's state follows the
  // connections, not the id (the old one's late DISCONNECT does not remove the new one).
  Probe second = RunProbe({.client_id = "sensor-1", .password = Token("sensor-1", key)});
  EXPECT_EQ(second.connack(), 0) << second.output;
  EXPECT_THAT(HubLog(), HasSubstr("Client sensor-1 already connected, closing old connection."));
  sub->Stop(absl::Seconds(1));
  EXPECT_TRUE(WaitUntil([&] { return ConnectedClients() == 0; })) << ConnectedClients();
}

}  // namespace
}  // namespace edge::hub
