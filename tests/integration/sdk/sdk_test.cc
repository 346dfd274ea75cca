// A real IoT Hub SDK against our hub: modules and a leaf device written with the Node.js Azure IoT
// SDK (azure-iot-device + azure-iot-device-mqtt, pinned in package-lock.json and installed into
// the build tree by the sdk_node_modules fixture) talk to the real edge-hub, edge-router and
// edge-store on loopback ports and a temp EDGE_HOME. The SDK is configured as IoT Edge configures
// it — ModuleClient.fromEnvironment with EdgeHubConnectionString and EdgeModuleCACertificateFile,
// a leaf's connection string with GatewayHostName — and the role scripts next to this file
// (module.js, leaf_device.js) print one JSON line per thing the SDK did.
//
// The SDK connects to mqtts://{GatewayHostName}: a GatewayHostName of "127.0.0.1:PORT" reaches
// the hub's SAS listener on a port of the test's own (the SDK has no port option; the URL takes
// one). The server certificate names 127.0.0.1, so TLS verification stays on.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/hub/hub_fixture.h"
#include "tests/support/store_client.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kRoutes[] = R"json({"schemaVersion": "1.1", "routes": {
  "AtoB": "FROM /messages/modules/A/outputs/out1 INTO BrokeredEndpoint(\"/modules/B/inputs/in1\")",
  "leafUp": "FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO $upstream"},
  "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}})json";
constexpr char kModuleA[] = "edge-device/A";
constexpr char kModuleB[] = "edge-device/B";
constexpr char kLeaf[] = "leaf-1";
// The IoT Hub the connection strings name. Nothing resolves it: the SDK must go to
// GatewayHostName, and the hub must ignore the host in the username and the token's resource.
constexpr char kIotHubHostName[] = "sdk-test-hub.azure-devices.net";

std::filesystem::path ScriptDir() {
  return std::filesystem::path(EDGE_SOURCE_DIR) / "tests/integration/sdk";
}

// The `node` program on PATH; empty when there is none.
std::filesystem::path NodeProgram() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / "node";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// One run of a role script: its events (the JSON lines it printed) read back from its log.
class NodeRole {
 public:
  NodeRole(std::filesystem::path log, Subprocess process)
      : log_(std::move(log)), process_(std::move(process)) {}
  NodeRole(NodeRole&&) = default;
  // SIGTERM: the script closes its client (an orderly MQTT DISCONNECT) and exits.
  ~NodeRole() {
    if (process_.running()) process_.Stop(absl::Seconds(3));
  }

  // Every event printed so far, in order.
  std::vector<nlohmann::json> Events() const {
    std::vector<nlohmann::json> events;
    std::istringstream lines(Output());
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("{\"event\"", 0) != 0) continue;
      nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
      if (!event.is_discarded()) events.push_back(std::move(event));
    }
    return events;
  }

  // The first event named `name` for which `match` holds, waiting up to `timeout` for it; nullopt
  // when none came (or the script exited without it).
  std::optional<nlohmann::json> WaitForEvent(
      const std::string& name,
      const std::function<bool(const nlohmann::json&)>& match =
          [](const nlohmann::json&) { return true; },
      absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const bool exited = process_.Poll().has_value();
      for (const nlohmann::json& event : Events()) {
        if (event.value("event", "") == name && match(event)) return event;
      }
      if (exited || absl::Now() > deadline) return std::nullopt;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  // The exit status, waiting up to `timeout`; -1 when it is still running then.
  int Wait(absl::Duration timeout) {
    absl::StatusOr<int> status = process_.Wait(timeout);
    return status.ok() ? *status : -1;
  }

  std::string Output() const { return testing::ReadFile(log_); }

 private:
  std::filesystem::path log_;
  Subprocess process_;
};

class SdkTest : public HubFixture {
 protected:
  void SetUp() override {
    node_ = NodeProgram();
    if (node_.empty())
      GTEST_SKIP() << "no `node` on PATH: install nodejs (scripts/install-deps.sh)";
    ASSERT_TRUE(std::filesystem::exists(NodeModules() / "azure-iot-device-mqtt"))
        << "the Node.js IoT SDK is not installed in " << NodeModules()
        << ": run the sdk_node_modules test (ctest adds it as this test's fixture)";
    HubFixture::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(router_.Start().ok()) << router_.Log();
    for (const char* id : {kModuleA, kModuleB, kLeaf}) AddSasIdentity(id);
    SetRoutes(kRoutes, router_);
    if (HasFatalFailure()) return;
    // The identities reach the hub through the store's change feed.
    ASSERT_TRUE(EventuallyConnects(kLeaf, Password(kLeaf), true)) << HubLog();
  }

  // With EDGE_SDK_TEST_KEEP_LOGS=DIR, the SDK scripts' output and the services' logs are copied
  // to DIR/<test name>/ (run with DEBUG=azure-iot*,mqttjs* to see what the SDK sent).
  void TearDown() override {
    const char* keep = std::getenv("EDGE_SDK_TEST_KEEP_LOGS");
    if (keep == nullptr || *keep == '\0') return;
    const std::filesystem::path to =
        std::filesystem::path(keep) /
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::error_code ec;
    std::filesystem::create_directories(to, ec);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(home_.path(), ec)) {
      if (entry.path().extension() == ".log") {
        std::filesystem::copy_file(entry.path(), to / entry.path().filename(),
                                   std::filesystem::copy_options::overwrite_existing, ec);
      }
    }
  }

  static std::filesystem::path NodeModules() {
    return std::filesystem::path(EDGE_SDK_DIR) / "node_modules";
  }

  // How IoT Edge points an SDK at its hub: the IoT Hub's name, the gateway to connect to instead,
  // the identity and its key.
  std::string ConnectionString(const std::string& identity) {
    const size_t slash = identity.find('/');
    std::string cs =
        absl::StrCat("HostName=", kIotHubHostName, ";GatewayHostName=127.0.0.1:", sas_port_,
                     ";DeviceId=", identity.substr(0, slash));
    if (slash != std::string::npos) absl::StrAppend(&cs, ";ModuleId=", identity.substr(slash + 1));
    return absl::StrCat(cs, ";SharedAccessKey=", keys_[identity]);
  }

  // Starts `script` (module.js, leaf_device.js) with `args`, its output in <home>/<log>.
  NodeRole StartScript(const std::string& script, std::vector<std::string> args,
                       std::vector<std::pair<std::string, std::string>> env,
                       const std::string& log) {
    std::vector<std::string> argv = {node_.string(), (ScriptDir() / script).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace_back("NODE_PATH", NodeModules().string());
    const std::filesystem::path log_path = home_.path() / log;
    absl::StatusOr<Subprocess> process =
        Subprocess::Start({.argv = argv, .env = env, .log_file = log_path});
    EXPECT_TRUE(process.ok()) << process.status();
    return NodeRole(log_path, *std::move(process));
  }

  // An SDK module of edge-device with the environment the agent gives a module (§5).
  NodeRole StartModule(const std::string& identity, std::vector<std::string> args) {
    args.insert(args.end(), {"--lifetime", "40"});
    return StartScript("module.js", args,
                       {{"EdgeHubConnectionString", ConnectionString(identity)},
                        {"EdgeModuleCACertificateFile", CaFile().string()}},
                       absl::StrCat(identity.substr(identity.find('/') + 1), ".log"));
  }

  NodeRole StartLeaf(std::vector<std::string> args) {
    args.insert(args.end(), {"--ca", CaFile().string(), "--lifetime", "20"});
    return StartScript("leaf_device.js", args,
                       {{"DEVICE_CONNECTION_STRING", ConnectionString(kLeaf)}}, "leaf.log");
  }

  // The filters `identity`'s connected client has subscribed to, as the hub lists them.
  std::vector<std::string> SubscriptionsOf(const std::string& identity) {
    auto stub = v1::Hub::NewStub(hub_.Channel());
    grpc::ClientContext context;
    v1::ListClientsResponse clients;
    if (!stub->ListClients(&context, v1::ListClientsRequest(), &clients).ok()) return {};
    for (const v1::Client& client : clients.clients()) {
      if (client.identity() == identity) {
        return {client.subscriptions().begin(), client.subscriptions().end()};
      }
    }
    return {};
  }

  // True once `identity`'s client has subscribed to `filter` (the SDK subscribes in the
  // background and tells its user nothing).
  bool EventuallySubscribed(const std::string& identity, const std::string& filter) {
    return WaitUntil([&] {
      for (const std::string& f : SubscriptionsOf(identity)) {
        if (f == filter) return true;
      }
      return false;
    });
  }

  // When `identity`'s current connection was made (ms since the epoch); 0 when not connected.
  int64_t ConnectedSince(const std::string& identity) {
    auto stub = v1::Hub::NewStub(hub_.Channel());
    grpc::ClientContext context;
    v1::ListClientsResponse clients;
    if (!stub->ListClients(&context, v1::ListClientsRequest(), &clients).ok()) return 0;
    for (const v1::Client& client : clients.clients()) {
      if (client.identity() == identity) return client.connected_since_unix_ms();
    }
    return 0;
  }

  std::vector<store::v1::QueueEntry> Upstream() { return QueueEntries("$upstream"); }

  std::string Logs(const std::vector<const NodeRole*>& roles) {
    std::string logs;
    for (const NodeRole* role : roles) absl::StrAppend(&logs, "--- sdk:\n", role->Output());
    return absl::StrCat(logs, "--- hub:\n", HubLog(), "--- router:\n", router_.Log());
  }

  std::filesystem::path node_;
  ServiceProcess router_{"router", home_.path()};
};

// The client's answer `edgectl invoke` printed after its "status N" line; null when none.
nlohmann::json AnswerOf(const Finished& invoke) {
  const size_t line = invoke.output.find('\n');
  if (line == std::string::npos) return nullptr;
  nlohmann::json answer = nlohmann::json::parse(invoke.output.substr(line + 1), nullptr, false);
  return answer.is_discarded() ? nullptr : answer;
}

auto HasKey(const std::string& key) {
  return [key](const nlohmann::json& event) {
    return event.contains("patch") && event["patch"].is_object() && event["patch"].contains(key);
  };
}

TEST_F(SdkTest, AModuleOutputReachesTheRoutedModuleInputWithItsProperties) {
  NodeRole b = StartModule(kModuleB, {"--input"});
  ASSERT_TRUE(b.WaitForEvent("ready")) << Logs({&b});
  NodeRole a = StartModule(kModuleA, {"--output", "out1", "--body", R"({"temperature":21.5})",
                                      "--prop", "temp=21", "--prop", "site=north & south",
                                      "--message-id", "m-1", "--content-type", "application/json"});
  ASSERT_TRUE(a.WaitForEvent("sent")) << Logs({&a, &b});

  std::optional<nlohmann::json> input = b.WaitForEvent("input");
  ASSERT_TRUE(input) << Logs({&a, &b});
  EXPECT_EQ((*input)["input"], "in1");
  EXPECT_EQ((*input)["body"], R"({"temperature":21.5})");
  EXPECT_EQ((*input)["properties"]["temp"], "21");
  EXPECT_EQ((*input)["properties"]["site"], "north & south");
  EXPECT_EQ((*input)["messageId"], "m-1");
  EXPECT_EQ((*input)["contentType"], "application/json");
}

TEST_F(SdkTest, AnOutputWaitsForTheRoutedModuleToConnect) {
  {
    NodeRole a = StartModule(kModuleA, {"--output", "out1", "--body", "early", "--prop", "n=1"});
    ASSERT_TRUE(a.WaitForEvent("sent")) << Logs({&a});
  }
  NodeRole b = StartModule(kModuleB, {"--input"});
  std::optional<nlohmann::json> input = b.WaitForEvent("input");
  ASSERT_TRUE(input) << Logs({&b});
  EXPECT_EQ((*input)["input"], "in1");
  EXPECT_EQ((*input)["body"], "early");
  EXPECT_EQ((*input)["properties"]["n"], "1");
}

TEST_F(SdkTest, ModulesGetTheirTwinsAndReportProperties) {
  const int64_t desired_version = PatchDesired(kModuleA, R"({"interval": 5})");
  NodeRole a = StartModule(kModuleA, {"--twin", "--report", R"({"state": "A ok", "temp": 21})"});
  NodeRole b = StartModule(kModuleB, {"--twin", "--report", R"({"state": "B ok"})"});

  std::optional<nlohmann::json> twin = a.WaitForEvent("twin");
  ASSERT_TRUE(twin) << Logs({&a});
  EXPECT_EQ((*twin)["desired"]["interval"], 5);
  EXPECT_EQ((*twin)["desired"]["$version"], desired_version);
  EXPECT_TRUE((*twin)["reported"].contains("$version")) << twin->dump();

  ASSERT_TRUE(a.WaitForEvent("reported")) << Logs({&a});
  ASSERT_TRUE(b.WaitForEvent("reported")) << Logs({&b});
  const nlohmann::json a_reported = nlohmann::json::parse(TwinOf(kModuleA).reported().json());
  EXPECT_EQ(a_reported["state"], "A ok");
  EXPECT_EQ(a_reported["temp"], 21);
  EXPECT_EQ(nlohmann::json::parse(TwinOf(kModuleB).reported().json())["state"], "B ok");
}

TEST_F(SdkTest, ModulesGetDesiredPropertyPatchesFromEdgectlAndTheStore) {
  NodeRole a = StartModule(kModuleA, {"--twin"});
  NodeRole b = StartModule(kModuleB, {"--twin"});
  ASSERT_TRUE(a.WaitForEvent("ready") && b.WaitForEvent("ready")) << Logs({&a, &b});
  for (const char* id : {kModuleA, kModuleB}) {
    ASSERT_TRUE(EventuallySubscribed(id, "$iothub/twin/PATCH/properties/desired/#"))
        << id << Logs({&a, &b});
  }

  Finished patch = Edgectl({"twin", "patch", kModuleB, "--desired", R"({"mode": "fast"})"});
  ASSERT_TRUE(patch.ExitedWith(0)) << patch.output;
  const int64_t a_version = PatchDesired(kModuleA, R"({"threshold": {"high": 30}})");

  std::optional<nlohmann::json> b_patch = b.WaitForEvent("desired", HasKey("mode"));
  ASSERT_TRUE(b_patch) << Logs({&b});
  EXPECT_EQ((*b_patch)["patch"]["mode"], "fast");
  EXPECT_EQ((*b_patch)["patch"]["$version"], TwinOf(kModuleB).desired().version());
  std::optional<nlohmann::json> a_patch = a.WaitForEvent("desired", HasKey("threshold"));
  ASSERT_TRUE(a_patch) << Logs({&a});
  EXPECT_EQ((*a_patch)["patch"]["threshold"]["high"], 30);
  EXPECT_EQ((*a_patch)["patch"]["$version"], a_version);
  // Each client gets its own twin's changes only.
  EXPECT_FALSE(a.WaitForEvent("desired", HasKey("mode"), absl::ZeroDuration())) << a.Output();
  EXPECT_FALSE(b.WaitForEvent("desired", HasKey("threshold"), absl::ZeroDuration())) << b.Output();
}

TEST_F(SdkTest, AModuleAnswersADirectMethodInvokedWithEdgectl) {
  NodeRole b = StartModule(kModuleB, {"--method", "reset", "--status", "200"});
  ASSERT_TRUE(b.WaitForEvent("ready")) << Logs({&b});
  ASSERT_TRUE(EventuallySubscribed(kModuleB, "$iothub/methods/POST/#")) << Logs({&b});

  Finished invoke = Edgectl({"invoke", kModuleB, "reset", "--payload", R"({"level": 2})"});
  EXPECT_TRUE(invoke.ExitedWith(0)) << invoke.output << Logs({&b});
  EXPECT_THAT(invoke.output, HasSubstr("status 200\n"));
  const nlohmann::json answer = AnswerOf(invoke);
  EXPECT_EQ(answer["method"], "reset") << invoke.output;
  EXPECT_EQ(answer["request"], nlohmann::json::parse(R"({"level": 2})")) << invoke.output;
  std::optional<nlohmann::json> call = b.WaitForEvent("method");
  ASSERT_TRUE(call) << Logs({&b});
  EXPECT_EQ((*call)["payload"]["level"], 2);
}

TEST_F(SdkTest, AModulesErrorStatusReachesTheCaller) {
  NodeRole b = StartModule(kModuleB, {"--method", "reset", "--status", "500"});
  ASSERT_TRUE(b.WaitForEvent("ready")) << Logs({&b});
  ASSERT_TRUE(EventuallySubscribed(kModuleB, "$iothub/methods/POST/#")) << Logs({&b});

  Finished invoke = Edgectl({"invoke", kModuleB, "reset", "--payload", R"({"level": 3})"});
  EXPECT_TRUE(invoke.ExitedWith(1)) << invoke.output << Logs({&b});
  EXPECT_THAT(invoke.output, HasSubstr("status 500\n"));
  EXPECT_EQ(AnswerOf(invoke)["request"], nlohmann::json::parse(R"({"level": 3})")) << invoke.output;
}

TEST_F(SdkTest, AKickedModuleReconnectsAndAnswersMethodsAgain) {
  NodeRole b = StartModule(kModuleB, {"--method", "reset", "--status", "200"});
  ASSERT_TRUE(b.WaitForEvent("ready")) << Logs({&b});
  ASSERT_TRUE(EventuallySubscribed(kModuleB, "$iothub/methods/POST/#")) << Logs({&b});
  const int64_t first = ConnectedSince(kModuleB);

  Finished kick = Edgectl({"client", "kick", kModuleB});
  ASSERT_TRUE(kick.ExitedWith(0)) << kick.output;
  // The SDK's retry policy reconnects (with clean session off) and enables methods again.
  ASSERT_TRUE(WaitUntil([&] { return ConnectedSince(kModuleB) > first; }, absl::Seconds(15)))
      << Logs({&b});

  Finished invoke;
  ASSERT_TRUE(WaitUntil([&] {
    invoke = Edgectl({"invoke", kModuleB, "reset", "--payload", R"({"level": 4})"});
    return invoke.output.find("status 404") == std::string::npos;
  })) << invoke.output
      << Logs({&b});
  EXPECT_TRUE(invoke.ExitedWith(0)) << invoke.output << Logs({&b});
  EXPECT_EQ(AnswerOf(invoke)["request"], nlohmann::json::parse(R"({"level": 4})")) << invoke.output;
}

TEST_F(SdkTest, LeafDeviceTelemetryThroughTheGatewayIsQueuedForUpstream) {
  NodeRole leaf = StartLeaf({"--count", "2", "--body", R"({"humidity":40})", "--prop", "k=v",
                             "--message-id", "leaf-m", "--content-type", "application/json"});
  const int exited = leaf.Wait(absl::Seconds(25));
  ASSERT_TRUE(exited >= 0 && WIFEXITED(exited) && WEXITSTATUS(exited) == 0) << Logs({&leaf});
  EXPECT_TRUE(leaf.WaitForEvent("sent", [](const nlohmann::json& e) {
    return e.value("seq", -1) == 1;
  })) << leaf.Output();

  ASSERT_TRUE(WaitUntil([&] { return Upstream().size() >= 2; }, absl::Seconds(20)))
      << Logs({&leaf});
  const std::vector<store::v1::QueueEntry> upstream = Upstream();
  ASSERT_THAT(upstream, SizeIs(2));
  for (size_t i = 0; i < upstream.size(); ++i) {
    const common::v1::Message& message = upstream[i].message();
    EXPECT_EQ(message.body(), R"({"humidity":40})");
    EXPECT_EQ(message.source().device_id(), kLeaf);
    EXPECT_EQ(message.source().module_id(), "");
    EXPECT_EQ(message.application_properties().at("k"), "v");
    EXPECT_EQ(message.application_properties().at("seq"), std::to_string(i));
    EXPECT_EQ(message.system_properties().at("messageId"), absl::StrCat("leaf-m-", i));
    EXPECT_EQ(message.system_properties().at("contentType"), "application/json");
    EXPECT_EQ(message.system_properties().at("edgeHubOriginInterface"), "downstream");
  }
  // The SDK's username carries DeviceClientType; the hub accepted it, refusing nobody.
  EXPECT_THAT(HubLog(), Not(HasSubstr("refusing client")));
}

TEST_F(SdkTest, ALeafDeviceReceivesCloudToDeviceMessagesWithTheirProperties) {
  NodeRole leaf = StartLeaf({"--receive"});
  ASSERT_TRUE(leaf.WaitForEvent("ready")) << Logs({&leaf});
  ASSERT_TRUE(EventuallySubscribed(kLeaf, "devices/leaf-1/messages/devicebound/#"))
      << Logs({&leaf});

  Finished send = Edgectl({"c2d", "send", kLeaf, "--body", "switch on", "--prop", "colour=red",
                           "--sys", "messageId=c2d-1"});
  ASSERT_TRUE(send.ExitedWith(0)) << send.output << HubLog();
  EXPECT_THAT(send.output, HasSubstr("sent to leaf-1"));
  std::optional<nlohmann::json> c2d = leaf.WaitForEvent("c2d");
  ASSERT_TRUE(c2d) << Logs({&leaf});
  EXPECT_EQ((*c2d)["body"], "switch on");
  EXPECT_EQ((*c2d)["properties"]["colour"], "red");
  EXPECT_EQ((*c2d)["messageId"], "c2d-1");
}

TEST_F(SdkTest, CloudToDeviceMessagesWaitForAnOfflineLeafInItsSession) {
  {
    NodeRole first = StartLeaf({"--receive"});
    ASSERT_TRUE(first.WaitForEvent("ready")) << Logs({&first});
    ASSERT_TRUE(EventuallySubscribed(kLeaf, "devices/leaf-1/messages/devicebound/#"))
        << Logs({&first});
  }  // closed: the SDK's session (clean session off) stays with the hub
  ASSERT_TRUE(WaitUntil([&] { return ConnectedSince(kLeaf) == 0; }));

  Finished send = Edgectl({"c2d", "send", kLeaf, "--body", "while away"});
  ASSERT_TRUE(send.ExitedWith(0)) << send.output << HubLog();
  EXPECT_THAT(send.output, HasSubstr("queued for leaf-1"));

  NodeRole back = StartLeaf({"--receive"});
  std::optional<nlohmann::json> c2d = back.WaitForEvent("c2d");
  ASSERT_TRUE(c2d) << Logs({&back});
  EXPECT_EQ((*c2d)["body"], "while away");
}

}  // namespace
}  // namespace edge::hub
