// HubFixture: the real hub (edge-hub → mosquitto with our plugin) with the real edge-store
// holding identities, on loopback ports of its own and a temp EDGE_HOME, and the MQTT clients the
// hub tests drive it with — clients nobody here wrote: mosquitto_pub / mosquitto_sub and
// python3-paho-mqtt (mqtt_probe.py, one session per run).
#ifndef EDGE_TESTS_INTEGRATION_HUB_HUB_FIXTURE_H_
#define EDGE_TESTS_INTEGRATION_HUB_HUB_FIXTURE_H_

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/certs.h"
#include "common/edge_home.h"
#include "common/sas.h"
#include "common/subprocess.h"
#include "edge/hub/v1/hub.grpc.pb.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/free_port.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/store_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace edge::hub {

using ::edge::testing::Finished;
using ::edge::testing::FreeLoopbackPort;
using ::edge::testing::RunToExit;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;

constexpr char kMosquittoPub[] = "/usr/bin/mosquitto_pub";
constexpr char kMosquittoSub[] = "/usr/bin/mosquitto_sub";

inline std::filesystem::path ProbeScript() {
  return std::filesystem::path(EDGE_SOURCE_DIR) / "tests/integration/hub/mqtt_probe.py";
}

inline size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

inline std::string UsernameFor(const std::string& identity) {
  return absl::StrCat("localhost/", identity, "/?api-version=2021-04-12");
}

// What mqtt_probe.py reported about one session.
struct Probe {
  nlohmann::json report;
  std::string output;

  // -1 when there was no CONNACK (refused during the TLS handshake, or the probe failed).
  int connack() const {
    return report.is_object() && report["connack"].is_number() ? report["connack"].get<int>() : -1;
  }
  bool disconnected() const { return report.is_object() && report.value("disconnected", false); }
  std::vector<int> granted() const {
    return report.is_object() ? report.value("granted", std::vector<int>{}) : std::vector<int>{};
  }
  // The messages received, in order: topic and payload.
  std::vector<std::pair<std::string, std::string>> received() const {
    std::vector<std::pair<std::string, std::string>> messages;
    if (!report.is_object() || !report.contains("received")) return messages;
    for (const auto& m : report["received"]) {
      messages.emplace_back(m.value("topic", ""), m.value("payload", ""));
    }
    return messages;
  }
  bool puback(size_t i = 0) const {
    if (!report.is_object() || !report.contains("published")) return false;
    const nlohmann::json& published = report["published"];
    return i < published.size() && published[i].value("puback", false);
  }
};

struct ProbeArgs {
  std::string client_id = {};
  std::string username = {};  // empty: UsernameFor(client_id)
  std::string password = {};
  std::vector<std::string> subscribe = {};
  std::vector<std::string> publish = {};
  int payload_size = 16;
  std::string message = {};  // the publishes' body instead of payload_size bytes, when not empty
  int expect = 0;            // messages to wait for after publishing (report "received")
  bool persistent = false;   // clean session off
  double timeout_seconds = 5;
  int qos = 1;
  std::filesystem::path cert =
      {};  // with `key`: connect to the X.509 listener with this certificate
  std::filesystem::path key = {};
};

class HubFixture : public ::testing::Test {
 protected:
  // More [hub] keys for a fixture that needs them ("key = value\n" lines).
  virtual std::string HubConfigExtra() const { return ""; }

  void SetUp() override {
    sas_port_ = FreeLoopbackPort();
    x509_port_ = FreeLoopbackPort();
    std::ofstream(home_.path() / "config.toml")
        << "[hub]\nbind_address = \"127.0.0.1\"\nsas_port = " << sas_port_
        << "\nx509_port = " << x509_port_ << "\n"
        << HubConfigExtra();
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    ASSERT_TRUE(hub_.Start().ok()) << hub_.Log();
    identities_ = store::v1::IdentityRegistry::NewStub(store_.Channel());
  }

  // Creates a SAS identity (enabled unless `disabled`) and returns its primary key.
  std::string AddSasIdentity(const std::string& id, bool disabled = false) {
    store::v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    request.set_disabled(disabled);
    grpc::ClientContext context;
    store::v1::Identity created;
    grpc::Status status = identities_->CreateIdentity(&context, request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    keys_[id] = created.primary_key();
    return created.primary_key();
  }

  // Writes `json` as the $edgeHub desired properties and waits until `router` applied them.
  void SetRoutes(const std::string& json, ServiceProcess& router) {
    auto twins = store::v1::TwinStore::NewStub(store_.Channel());
    grpc::ClientContext context;
    store::v1::ReplaceDesiredRequest request;
    request.set_id("edge-device/$edgeHub");
    request.set_json(json);
    store::v1::Twin twin;
    ASSERT_TRUE(twins->ReplaceDesired(&context, request, &twin).ok());
    auto stub = router::v1::Router::NewStub(router.Channel());
    ASSERT_TRUE(WaitUntil([&] {
      grpc::ClientContext get;
      router::v1::GetRoutesResponse routes;
      return stub->GetRoutes(&get, router::v1::GetRoutesRequest(), &routes).ok() &&
             routes.config().desired_version() == twin.desired().version();
    })) << router.Log();
  }

  store::v1::Twin TwinOf(const std::string& id) {
    auto twins = store::v1::TwinStore::NewStub(store_.Channel());
    grpc::ClientContext context;
    store::v1::GetTwinRequest request;
    request.set_id(id);
    store::v1::Twin twin;
    EXPECT_TRUE(twins->GetTwin(&context, request, &twin).ok());
    return twin;
  }

  // Merge-patches a twin's desired properties; returns the new desired version.
  int64_t PatchDesired(const std::string& id, const std::string& patch) {
    auto twins = store::v1::TwinStore::NewStub(store_.Channel());
    grpc::ClientContext context;
    store::v1::PatchTwinRequest request;
    request.set_id(id);
    request.set_patch_json(patch);
    store::v1::Twin twin;
    EXPECT_TRUE(twins->PatchDesired(&context, request, &twin).ok());
    return twin.desired().version();
  }

  // Every entry of a store queue (the default priority).
  std::vector<store::v1::QueueEntry> QueueEntries(const std::string& endpoint) {
    auto queues = store::v1::MessageStore::NewStub(store_.Channel());
    store::v1::QueueId queue;
    queue.set_endpoint(endpoint);
    return testing::ReadToEnd(*queues, queue);
  }

  // Runs `edgectl --edge-home <this home> args...` to its end.
  Finished Edgectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {(testing::BinDir() / "edgectl").string(), "--edge-home",
                                     home_.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunToExit(argv, absl::Seconds(60));
  }

  // A valid SAS token for an identity AddSasIdentity created.
  std::string Password(const std::string& identity) { return Token(identity, keys_[identity]); }

  void AddX509Identity(const std::string& id) {
    store::v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    request.mutable_identity()->set_auth_type(store::v1::AUTH_TYPE_X509_CA);
    grpc::ClientContext context;
    store::v1::Identity created;
    grpc::Status status = identities_->CreateIdentity(&context, request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  void SetEnabled(const std::string& id, bool enabled) {
    store::v1::UpdateIdentityRequest request;
    request.set_id(id);
    request.set_enabled(enabled);
    grpc::ClientContext context;
    store::v1::Identity updated;
    grpc::Status status = identities_->UpdateIdentity(&context, request, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static std::string Token(const std::string& identity, const std::string& key,
                           absl::Duration valid = absl::Hours(1)) {
    const size_t slash = identity.find('/');
    const std::string resource = slash == std::string::npos
                                     ? absl::StrCat("localhost/devices/", identity)
                                     : absl::StrCat("localhost/devices/", identity.substr(0, slash),
                                                    "/modules/", identity.substr(slash + 1));
    return *MakeSasToken(resource, key, absl::Now() + valid);
  }

  std::filesystem::path CaFile() const { return CaCertPath(CertsDir(home_.path())); }

  // The command line of one mqtt_probe.py session.
  std::vector<std::string> ProbeArgv(const ProbeArgs& args) {
    const bool x509 = !args.cert.empty();
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        ProbeScript().string(),
        "--port",
        std::to_string(x509 ? x509_port_ : sas_port_),
        "--cafile",
        CaFile().string(),
        "--client-id",
        args.client_id,
        "--username",
        args.username.empty() ? UsernameFor(args.client_id) : args.username,
        "--password",
        args.password,
        "--payload-size",
        std::to_string(args.payload_size),
        "--qos",
        std::to_string(args.qos),
        "--expect",
        std::to_string(args.expect),
        "--timeout",
        std::to_string(args.timeout_seconds)};
    if (args.persistent) argv.push_back("--persistent");
    if (!args.message.empty()) argv.insert(argv.end(), {"--message", args.message});
    if (x509) argv.insert(argv.end(), {"--cert", args.cert.string(), "--key", args.key.string()});
    for (const std::string& topic : args.subscribe) argv.insert(argv.end(), {"--subscribe", topic});
    for (const std::string& topic : args.publish) argv.insert(argv.end(), {"--publish", topic});
    return argv;
  }

  // The report of a finished probe from its output.
  static Probe ParseProbe(const std::string& output) {
    Probe probe;
    probe.output = output;
    const size_t line = output.rfind("{\"connack\"");
    if (line != std::string::npos) {
      probe.report = nlohmann::json::parse(output.substr(line), nullptr, false);
    }
    return probe;
  }

  Probe RunProbe(const ProbeArgs& args) {
    Finished run = RunToExit(ProbeArgv(args), absl::Seconds(20 + args.timeout_seconds));
    Probe probe = ParseProbe(run.output);
    EXPECT_TRUE(run.ExitedWith(0) && probe.report.is_object()) << run.output;
    return probe;
  }

  // mosquitto_pub or mosquitto_sub as `identity` over the SAS listener: the arguments every run
  // shares.
  std::vector<std::string> MosquittoClient(const char* program, const std::string& identity,
                                           const std::string& password) {
    return {program,
            "-h",
            "127.0.0.1",
            "-p",
            std::to_string(sas_port_),
            "--cafile",
            CaFile().string(),
            "-V",
            "mqttv311",
            "-q",
            "1",
            "-i",
            identity,
            "-u",
            UsernameFor(identity),
            "-P",
            password};
  }

  // mosquitto_pub over the SAS listener, QoS 1.
  Finished MosquittoPub(const std::string& identity, const std::string& password,
                        const std::string& topic) {
    std::vector<std::string> argv = MosquittoClient(kMosquittoPub, identity, password);
    argv.insert(argv.end(), {"-t", topic, "-m", "{\"temperature\":21.5}"});
    return RunToExit(argv);
  }

  // Waits until the hub refuses or accepts `identity` as expected (identity changes reach it
  // through the store's change feed).
  bool EventuallyConnects(const std::string& identity, const std::string& password, bool expect) {
    return WaitUntil([&] {
      return (RunProbe({.client_id = identity, .password = password}).connack() == 0) == expect;
    });
  }

  std::string HubLog() const { return hub_.Log(); }

  // mosquitto_sub connected as `identity` until stopped (it reconnects when kicked).
  absl::StatusOr<Subprocess> HoldConnection(const std::string& identity,
                                            const std::string& password) {
    std::vector<std::string> argv = MosquittoClient(kMosquittoSub, identity, password);
    argv.insert(argv.end(), {"-t", absl::StrCat("devices/", identity, "/messages/devicebound/#")});
    return Subprocess::Start({.argv = argv, .log_file = home_.path() / "hold.log"});
  }

  // GetHubInfo's count; -1 when the hub does not answer.
  int64_t ConnectedClients() {
    auto stub = v1::Hub::NewStub(hub_.Channel());
    grpc::ClientContext context;
    v1::HubInfo info;
    if (!stub->GetHubInfo(&context, v1::GetHubInfoRequest(), &info).ok()) return -1;
    return info.connected_clients();
  }

  static bool WaitUntil(const std::function<bool()>& done,
                        absl::Duration timeout = absl::Seconds(10)) {
    return testing::WaitUntil(done, timeout, absl::Milliseconds(50));
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess hub_{"hub", home_.path()};
  std::unique_ptr<store::v1::IdentityRegistry::Stub> identities_;
  std::map<std::string, std::string> keys_;  // identity → primary key (AddSasIdentity)
  int sas_port_ = 0;
  int x509_port_ = 0;
};

}  // namespace edge::hub

#endif  // EDGE_TESTS_INTEGRATION_HUB_HUB_FIXTURE_H_
