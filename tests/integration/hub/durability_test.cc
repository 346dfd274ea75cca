// DESIGN.md's reliability contract, end to end: under a steady load of QoS 1 publishes from one
// module routed to another, `kill -9` the hub, then the router, then the store — the supervisor
// started by `edgectl up` restarts each — and every message whose publisher got a PUBACK reaches
// the destination module at least once. Duplicates are counted and printed.
#include <signal.h>
#include <sys/prctl.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/runtime_home.h"
#include "tests/support/service_process.h"

namespace edge {
namespace {

using ::edge::testing::BinDir;
using ::edge::testing::Finished;
using ::edge::testing::MakeRuntimeHome;
using ::edge::testing::RuntimeHome;
using ::edge::testing::RunToExit;

constexpr int kMessages = 3000;
constexpr int kRate = 250;  // per second: the load lasts about 12 s

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<int> Numbers(const std::filesystem::path& path) {
  std::vector<int> numbers;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    int number = 0;
    if (absl::SimpleAtoi(line, &number)) numbers.push_back(number);
  }
  return numbers;
}

class DurabilityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

  void SetUp() override {
    RuntimeHome home = MakeRuntimeHome("edge-dur", /*x509=*/false);
    ASSERT_FALSE(home.path.empty());
    home_ = home.path;
    port_ = home.sas_port;
    Finished up = Edgectl({"up"});
    ASSERT_TRUE(up.ExitedWith(0)) << up.output;
  }

  void TearDown() override {
    for (std::optional<Subprocess>* client : {&publisher_, &subscriber_}) {
      if (client->has_value()) (*client)->Stop(absl::Seconds(2));
    }
    Finished down = Edgectl({"down"});
    EXPECT_TRUE(down.ExitedWith(0)) << down.output;
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }

  Finished Edgectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {(BinDir() / "edgectl").string(), "--edge-home",
                                     home_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunToExit(argv, absl::Seconds(60));
  }

  // Adds module `name` of the edge device and returns a SAS token for it.
  std::string AddModule(const std::string& name) {
    const std::string id = absl::StrCat("edge-device/", name);
    Finished add = Edgectl({"identity", "add", id});
    EXPECT_TRUE(add.ExitedWith(0)) << add.output;
    Finished sas = Edgectl({"identity", "sas", id, "--ttl", "3600"});
    EXPECT_TRUE(sas.ExitedWith(0)) << sas.output;
    return std::string(absl::StripAsciiWhitespace(sas.output));
  }

  absl::StatusOr<Subprocess> LoadClient(const std::string& mode, const std::string& module,
                                        const std::string& token, const std::string& topic,
                                        const std::filesystem::path& record) {
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        (std::filesystem::path(EDGE_SOURCE_DIR) / "tests/integration/hub/mqtt_load.py").string(),
        mode,
        "--port",
        std::to_string(port_),
        "--cafile",
        (home_ / "certs/ca.pem").string(),
        "--client-id",
        absl::StrCat("edge-device/", module),
        "--username",
        absl::StrCat("localhost/edge-device/", module, "/?api-version=2021-04-12"),
        "--password",
        token,
        "--topic",
        topic,
        "--record",
        record.string(),
        "--count",
        std::to_string(kMessages),
        "--rate",
        std::to_string(kRate)};
    return Subprocess::Start({.argv = argv, .log_file = home_ / absl::StrCat(mode, ".log")});
  }

  // SIGKILL to the service whose pidfile the supervisor wrote, then wait until it serves again.
  void KillAndAwaitRestart(const std::string& service) {
    const std::filesystem::path pidfile = home_ / "run" / absl::StrCat(service, ".pid");
    pid_t pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(pidfile)), &pid));
    ASSERT_EQ(::kill(pid, SIGKILL), 0) << service;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      pid_t now = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(pidfile)), &now) && now != pid &&
          Edgectl({"status"}).ExitedWith(0)) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << service << " was not restarted:\n" << Edgectl({"status"}).output;
  }

  std::filesystem::path home_;
  int port_ = 0;
  std::optional<Subprocess> publisher_;
  std::optional<Subprocess> subscriber_;
};

TEST_F(DurabilityTest, EveryAckedMessageArrivesThroughKillsOfTheHubTheRouterAndTheStore) {
  const std::string token_a = AddModule("A");
  const std::string token_b = AddModule("B");
  std::ofstream(home_ / "routes.json") << R"json({"schemaVersion": "1.1", "routes": {"AtoB":
    "FROM /messages/modules/A/outputs/out1 INTO BrokeredEndpoint(\"/modules/B/inputs/in1\")"}})json";
  Finished routes = Edgectl({"route", "set", (home_ / "routes.json").string()});
  ASSERT_TRUE(routes.ExitedWith(0)) << routes.output;

  absl::StatusOr<Subprocess> subscriber = LoadClient(
      "subscribe", "B", token_b, "devices/edge-device/modules/B/inputs/#", home_ / "received");
  ASSERT_TRUE(subscriber.ok()) << subscriber.status();
  subscriber_.emplace(*std::move(subscriber));
  absl::StatusOr<Subprocess> publisher =
      LoadClient("publish", "A", token_a,
                 "devices/edge-device/modules/A/messages/events/%24.on=out1", home_ / "acked");
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  publisher_.emplace(*std::move(publisher));

  for (const char* service : {"hub", "router", "store"}) {
    absl::SleepFor(absl::Seconds(2));
    KillAndAwaitRestart(service);
  }
  absl::StatusOr<int> published = publisher_->Wait(absl::Seconds(120));
  ASSERT_TRUE(published.ok()) << ReadFile(home_ / "publish.log");

  const std::vector<int> acked = Numbers(home_ / "acked");
  std::set<int> missing(acked.begin(), acked.end());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::vector<int> received;
  while (!missing.empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    received = Numbers(home_ / "received");
    for (int number : received) missing.erase(number);
  }
  const std::set<int> distinct(received.begin(), received.end());
  std::cout << "published " << kMessages << ", acked " << acked.size() << ", received "
            << received.size() << " (" << distinct.size() << " distinct, "
            << received.size() - distinct.size() << " duplicates), missing " << missing.size()
            << "\n";
  EXPECT_GT(acked.size(), kMessages * 9 / 10u) << ReadFile(home_ / "publish.log");
  EXPECT_TRUE(missing.empty()) << missing.size() << " acked messages never arrived, the first "
                               << *missing.begin() << "\n"
                               << ReadFile(home_ / "logs/hub.log")
                               << ReadFile(home_ / "logs/router.log");
}

}  // namespace
}  // namespace edge
