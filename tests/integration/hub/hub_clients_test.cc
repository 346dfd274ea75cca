// The hub reaching its connected clients, driven through edgectl as an operator would: direct
// methods (`edgectl invoke`) answered by a paho client, cloud-to-device messages (`edgectl c2d
// send`) to a connected device and to an offline one with a persistent session, and client
// management (`edgectl client list|kick`). Every error path by its status or exit code.
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/hub/hub_fixture.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kModule[] = "edge-device/filter";
constexpr char kDevice[] = "thermostat";

class HubClientsTest : public HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    if (HasFatalFailure()) return;
    AddSasIdentity(kModule);
    AddSasIdentity(kDevice);
    ASSERT_TRUE(EventuallyConnects(kDevice, Password(kDevice), true)) << HubLog();
  }

  void TearDown() override {
    if (responder_.has_value()) responder_->Stop(absl::Seconds(2));
  }

  // A paho client as `identity` answering methods with `status` (or never, when silent), ready
  // once its subscription is granted.
  void StartResponder(const std::string& identity, const std::string& status, bool silent = false) {
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        (std::filesystem::path(EDGE_SOURCE_DIR) / "tests/integration/hub/method_responder.py")
            .string(),
        "--port",
        std::to_string(sas_port_),
        "--cafile",
        CaFile().string(),
        "--client-id",
        identity,
        "--username",
        UsernameFor(identity),
        "--password",
        Password(identity),
        "--status",
        status};
    if (silent) argv.push_back("--silent");
    const std::filesystem::path log = home_.path() / "responder.log";
    absl::StatusOr<Subprocess> responder = Subprocess::Start({.argv = argv, .log_file = log});
    ASSERT_TRUE(responder.ok()) << responder.status();
    responder_.emplace(*std::move(responder));
    ASSERT_TRUE(WaitUntil([&] {
      return testing::ReadFile(log).find("ready") != std::string::npos;
    })) << testing::ReadFile(log)
        << HubLog();
  }

  std::optional<Subprocess> responder_;
};

TEST_F(HubClientsTest, InvokeReachesTheModuleAndPrintsItsAnswer) {
  StartResponder(kModule, "200");
  Finished invoke = Edgectl({"invoke", kModule, "reset", "--payload", R"({"level": 2})"});
  EXPECT_TRUE(invoke.ExitedWith(0)) << invoke.output << HubLog();
  EXPECT_THAT(invoke.output, HasSubstr("status 200"));
  EXPECT_THAT(invoke.output, HasSubstr(R"("method": "reset")"));
  EXPECT_THAT(invoke.output, HasSubstr(R"("request": {"level": 2})"));
}

TEST_F(HubClientsTest, InvokeOfAClientThatIsNotConnectedIs404) {
  Finished invoke = Edgectl({"invoke", kModule, "reset"});
  EXPECT_TRUE(invoke.ExitedWith(1)) << invoke.output;
  EXPECT_THAT(invoke.output, HasSubstr("status 404"));
  EXPECT_THAT(invoke.output, HasSubstr("is not connected"));
}

TEST_F(HubClientsTest, AClientThatDoesNotAnswerIs504AfterTheTimeout) {
  StartResponder(kModule, "200", /*silent=*/true);
  const absl::Time start = absl::Now();
  Finished invoke = Edgectl({"invoke", kModule, "reset", "--timeout", "5"});
  EXPECT_TRUE(invoke.ExitedWith(1)) << invoke.output;
  EXPECT_THAT(invoke.output, HasSubstr("status 504"));
  EXPECT_GE(absl::Now() - start, absl::Seconds(5));
}

TEST_F(HubClientsTest, ANonIntegerStatusFromTheClientIs400) {
  StartResponder(kModule, "fine");
  Finished invoke = Edgectl({"invoke", kModule, "reset"});
  EXPECT_TRUE(invoke.ExitedWith(1)) << invoke.output;
  EXPECT_THAT(invoke.output, HasSubstr("status 400"));
}

TEST_F(HubClientsTest, BadInvocationsAreUsageErrorsNamingTheField) {
  Finished slash = Edgectl({"invoke", kModule, "a/b"});
  EXPECT_TRUE(slash.ExitedWith(2)) << slash.output;
  EXPECT_THAT(slash.output, HasSubstr("method"));
  Finished payload = Edgectl({"invoke", kModule, "reset", "--payload", "{not json"});
  EXPECT_TRUE(payload.ExitedWith(2)) << payload.output;
  EXPECT_THAT(payload.output, HasSubstr("payload: not JSON"));
  Finished timeout = Edgectl({"invoke", kModule, "reset", "--timeout", "2"});
  EXPECT_TRUE(timeout.ExitedWith(2)) << timeout.output;
  EXPECT_THAT(timeout.output, HasSubstr("timeout"));
  const std::filesystem::path file = home_.path() / "big.json";
  std::ofstream(file) << "\"" << std::string(130 * 1024, 'x') << "\"";
  Finished big = Edgectl({"invoke", kModule, "reset", "--payload-file", file.string()});
  EXPECT_TRUE(big.ExitedWith(2)) << big.output;
  EXPECT_THAT(big.output, HasSubstr("the limit is 131072"));
}

TEST_F(HubClientsTest, C2dReachesAConnectedDeviceWithItsProperties) {
  std::vector<std::string> argv = MosquittoClient(kMosquittoSub, kDevice, Password(kDevice));
  argv.insert(argv.end(),
              {"-t", "devices/thermostat/messages/devicebound/#", "-v", "-C", "1", "-W", "20"});
  absl::StatusOr<Subprocess> sub =
      Subprocess::Start({.argv = argv, .log_file = home_.path() / "c2d.log"});
  ASSERT_TRUE(sub.ok()) << sub.status();
  // Sent once the device is connected (before, it would be refused: no persistent session).
  ASSERT_TRUE(WaitUntil([&] {
    return Edgectl(
               {"c2d", "send", kDevice, "--body", "on", "--prop", "a=1", "--sys", "messageId=m-1"})
        .ExitedWith(0);
  }));
  ASSERT_TRUE(sub->Wait(absl::Seconds(20)).ok());
  const std::string received = testing::ReadFile(home_.path() / "c2d.log");
  EXPECT_THAT(received, HasSubstr("devices/thermostat/messages/devicebound/"));
  EXPECT_THAT(received, HasSubstr("%24.mid=m-1"));
  EXPECT_THAT(received, HasSubstr("a=1"));
  EXPECT_THAT(received, HasSubstr(" on"));
}

TEST_F(HubClientsTest, C2dWaitsInTheSessionOfAnOfflinePersistentDevice) {
  Probe first = RunProbe({.client_id = kDevice,
                          .password = Password(kDevice),
                          .subscribe = {"devices/thermostat/messages/devicebound/#"},
                          .persistent = true});
  ASSERT_EQ(first.connack(), 0) << first.output;

  Finished send = Edgectl({"c2d", "send", kDevice, "--body", "while-away"});
  EXPECT_TRUE(send.ExitedWith(0)) << send.output << HubLog();
  EXPECT_THAT(send.output, HasSubstr("queued for thermostat"));

  Probe back = RunProbe(
      {.client_id = kDevice, .password = Password(kDevice), .expect = 1, .persistent = true});
  ASSERT_THAT(back.received(), SizeIs(1)) << back.output << HubLog();
  EXPECT_EQ(back.received()[0].second, "while-away");
}

TEST_F(HubClientsTest, C2dToADeviceWithoutASessionOrToAModuleIsRefused) {
  Finished absent = Edgectl({"c2d", "send", kDevice, "--body", "x"});
  EXPECT_TRUE(absent.ExitedWith(1)) << absent.output;
  EXPECT_THAT(absent.output, HasSubstr("not connected and has no persistent session"));
  Finished module = Edgectl({"c2d", "send", kModule, "--body", "x"});
  EXPECT_TRUE(module.ExitedWith(2)) << module.output;
  EXPECT_THAT(module.output, HasSubstr("C2D goes to devices"));
  Finished unknown = Edgectl({"c2d", "send", kDevice, "--body", "x", "--sys", "colour=red"});
  EXPECT_TRUE(unknown.ExitedWith(2)) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("\"colour\""));
  Finished malformed = Edgectl({"c2d", "send", kDevice, "--body", "x", "--prop", "novalue"});
  EXPECT_TRUE(malformed.ExitedWith(2)) << malformed.output;
}

TEST_F(HubClientsTest, ClientListShowsWhoIsConnectedAndKickDisconnectsIt) {
  ProbeArgs args{.client_id = kModule,
                 .password = Password(kModule),
                 .subscribe = {"devices/edge-device/modules/filter/inputs/#"},
                 .expect = 1,
                 .timeout_seconds = 15};
  absl::StatusOr<Subprocess> held =
      Subprocess::Start({.argv = ProbeArgv(args), .log_file = home_.path() / "held.log"});
  ASSERT_TRUE(held.ok()) << held.status();
  Finished list;
  ASSERT_TRUE(WaitUntil([&] {
    list = Edgectl({"client", "list"});
    return list.output.find("devices/edge-device/modules/filter/inputs/#") != std::string::npos;
  })) << list.output;
  EXPECT_THAT(list.output, HasSubstr("edge-device/filter"));
  EXPECT_THAT(list.output, HasSubstr("sas"));
  EXPECT_THAT(Edgectl({"-o", "json", "client", "list"}).output,
              HasSubstr("\"protocol_version\": 4"));

  Finished kick = Edgectl({"client", "kick", kModule});
  EXPECT_TRUE(kick.ExitedWith(0)) << kick.output;
  ASSERT_TRUE(held->Wait(absl::Seconds(20)).ok());
  EXPECT_TRUE(ParseProbe(testing::ReadFile(home_.path() / "held.log")).disconnected());
  EXPECT_THAT(Edgectl({"client", "list"}).output, Not(HasSubstr("edge-device/filter")));

  Finished again = Edgectl({"client", "kick", kModule});
  EXPECT_TRUE(again.ExitedWith(1)) << again.output;
  EXPECT_THAT(again.output, HasSubstr("no client"));
}

}  // namespace
}  // namespace edge::hub
