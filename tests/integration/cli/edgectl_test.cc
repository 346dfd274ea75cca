// edgectl against the real binaries: `up` starts the supervisor and edge-store, `status` reports
// them, the supervisor restarts a killed service, `down` leaves no process behind. Every test has
// its own short EDGE_HOME under /tmp and runs $EDGE_BIN_DIR/edgectl as a separate process.
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sas.h"
#include "common/subprocess.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/processes.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/runtime_home.h"

namespace edge::cli {
namespace {

using ::edge::testing::Finished;
using ::edge::testing::MakeRuntimeHome;
using ::edge::testing::ProcessesNaming;
using ::edge::testing::ProcessGone;
using ::edge::testing::ReadFile;
using ::edge::testing::RuntimeHome;
using ::edge::testing::RunToExit;
using ::edge::testing::WaitUntilGone;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int kExitNotRunning = 3;

struct CommandResult {
  int exit_code = -1;
  std::string out;     // stdout
  std::string err;     // stderr
  std::string output;  // both, for messages that may go to either
};

class EdgectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Orphans (the supervisor, once `edgectl up` exits) are re-parented to us rather than to a
    // PID 1 that may never reap them, so "no process left" can be checked exactly.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }

  void SetUp() override {
    const char* bin_dir = std::getenv("EDGE_BIN_DIR");
    ASSERT_NE(bin_dir, nullptr) << "run through ctest, which sets EDGE_BIN_DIR";
    edgectl_ = std::filesystem::path(bin_dir) / "edgectl";
    ASSERT_TRUE(std::filesystem::exists(edgectl_)) << edgectl_;
    RuntimeHome home = MakeRuntimeHome("edgectl");
    ASSERT_FALSE(home.path.empty());
    home_ = home.path;
    sas_port_ = home.sas_port;
    x509_port_ = home.x509_port;
    output_dir_ = home_.string() + ".out";
    std::filesystem::create_directory(output_dir_);
  }

  void TearDown() override {
    // SetUp failed before there was a home: there is nothing to clean up, and an empty home would
    // match every process below.
    if (home_.empty() || edgectl_.empty()) return;
    // Whatever the test did, nothing may outlive it.
    CommandResult down = Run({"down"});
    EXPECT_EQ(down.exit_code, 0) << down.output;
    EXPECT_THAT(ProcessesUsingHome(), IsEmpty());
    for (pid_t pid : ProcessesUsingHome()) ::kill(pid, SIGKILL);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
    std::filesystem::remove_all(output_dir_, ec);
  }

  // Runs `edgectl --edge-home <home> args...` to completion.
  CommandResult Run(const std::vector<std::string>& args,
                    absl::Duration timeout = absl::Seconds(90)) {
    const std::string base = (output_dir_ / absl::StrCat("cmd-", ++commands_run_)).string();
    // Subprocess gives the child one output file; the shell sends stderr to a second one so that
    // stdout stays parseable whatever is logged.
    constexpr char kStderrToFile[] = "exec \"$@\" 2>\"$EDGECTL_ERR\"";
    std::vector<std::string> argv = {"/bin/sh", "-c", kStderrToFile, "sh", edgectl_.string()};
    argv.insert(argv.end(), {"--edge-home", home_.string()});
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result;
    absl::StatusOr<Subprocess> process = Subprocess::Start(
        {.argv = argv, .env = {{"EDGECTL_ERR", base + ".err"}}, .log_file = base + ".out"});
    if (!process.ok()) {
      ADD_FAILURE() << process.status();
      return result;
    }
    absl::StatusOr<int> wait_status = process->Wait(timeout);
    if (!wait_status.ok()) {
      ADD_FAILURE() << "edgectl " << args[0] << " did not finish within " << timeout;
      wait_status = process->Stop(absl::ZeroDuration());
    }
    result.exit_code = WIFEXITED(*wait_status) ? WEXITSTATUS(*wait_status) : -1;
    result.out = ReadFile(base + ".out");
    result.err = ReadFile(base + ".err");
    result.output = result.out + result.err;
    return result;
  }

  CommandResult Up() {
    CommandResult up = Run({"up"});
    EXPECT_EQ(up.exit_code, 0) << up.output;
    return up;
  }

  // mosquitto_pub of one QoS 1 telemetry message as `device` over TLS to `port`, trusting the
  // device CA, with `credentials` (-P TOKEN, or --cert/--key).
  Finished MosquittoPub(int port, const std::string& device,
                        const std::vector<std::string>& credentials) {
    std::vector<std::string> argv = {"/usr/bin/mosquitto_pub",
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "--cafile",
                                     (home_ / "certs/ca.pem").string(),
                                     "-V",
                                     "mqttv311",
                                     "-q",
                                     "1",
                                     "-i",
                                     device,
                                     "-u",
                                     absl::StrCat("localhost/", device, "/?api-version=2021-04-12"),
                                     "-t",
                                     absl::StrCat("devices/", device, "/messages/events/"),
                                     "-m",
                                     "{\"t\":21}"};
    argv.insert(argv.end(), credentials.begin(), credentials.end());
    return RunToExit(argv, absl::Seconds(20));
  }

  // `status -o json`, parsed; also returns its exit code through `exit_code` when given.
  nlohmann::json StatusJson(int* exit_code = nullptr) {
    CommandResult status = Run({"status", "-o", "json"});
    if (exit_code != nullptr) *exit_code = status.exit_code;
    nlohmann::json doc = nlohmann::json::parse(status.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << "not JSON: " << status.out << "\nstderr: " << status.err;
    return doc;
  }

  static nlohmann::json Service(const nlohmann::json& status, const std::string& name) {
    for (const nlohmann::json& s : status.value("services", nlohmann::json::array())) {
      if (s.value("name", "") == name) return s;
    }
    ADD_FAILURE() << "no service " << name << " in " << status.dump();
    return nlohmann::json::object();
  }

  // A service's or the supervisor's pid; 0 when it has none (JSON null while it is restarting).
  static pid_t Pid(const nlohmann::json& object) {
    auto it = object.find("pid");
    return it != object.end() && it->is_number_integer() ? it->get<pid_t>() : 0;
  }

  // A string field; "" when it is null or absent.
  static std::string Text(const nlohmann::json& object, const std::string& key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
  }

  // Live processes whose command line names our EDGE_HOME: the supervisor and every service.
  std::vector<pid_t> ProcessesUsingHome() const { return ProcessesNaming(home_.string()); }

  std::filesystem::path edgectl_;
  std::filesystem::path home_;
  std::filesystem::path output_dir_;
  int commands_run_ = 0;
  int sas_port_ = 0;
  int x509_port_ = 0;
};

TEST_F(EdgectlTest, UpStatusDownLeavesNoProcessBehind) {
  CommandResult up = Up();
  EXPECT_THAT(up.output, HasSubstr("the edge runtime is up in"));
  EXPECT_THAT(ReadFile(home_ / "config.toml"), HasSubstr("bind_address")) << "up keeps a config";

  int status_exit = -1;
  nlohmann::json status = StatusJson(&status_exit);
  EXPECT_EQ(status_exit, 0) << status.dump();
  nlohmann::json store = Service(status, "store");
  EXPECT_EQ(store.value("health", ""), "serving");
  const pid_t store_pid = Pid(store);
  const pid_t supervisor_pid = Pid(status["supervisor"]);
  ASSERT_GT(store_pid, 0);
  ASSERT_GT(supervisor_pid, 0);
  EXPECT_FALSE(ProcessGone(store_pid));
  EXPECT_EQ(std::stoi(ReadFile(home_ / "run/store.pid")), store_pid);
  EXPECT_EQ(std::stoi(ReadFile(home_ / "run/supervisor.pid")), supervisor_pid);

  CommandResult table = Run({"status"});
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, HasSubstr("serving"));
  EXPECT_THAT(table.output, HasSubstr(absl::StrCat(store_pid)));

  CommandResult down = Run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_THAT(down.output, HasSubstr("stopped"));
  EXPECT_TRUE(WaitUntilGone(store_pid, absl::Seconds(1)));
  EXPECT_TRUE(WaitUntilGone(supervisor_pid, absl::Seconds(1)));
  EXPECT_THAT(ProcessesUsingHome(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(home_ / "run/store.pid"));
  EXPECT_FALSE(std::filesystem::exists(home_ / "run/supervisor.pid"));

  CommandResult after = Run({"status"});
  EXPECT_EQ(after.exit_code, kExitNotRunning) << after.output;
  EXPECT_THAT(after.output, HasSubstr("not running"));
}

TEST_F(EdgectlTest, SupervisorRestartsAKilledService) {
  Up();
  const pid_t first_pid = Pid(Service(StatusJson(), "store"));
  ASSERT_GT(first_pid, 0);

  ASSERT_EQ(::kill(first_pid, SIGKILL), 0);

  nlohmann::json store;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(100));
    store = Service(StatusJson(), "store");
  } while ((Pid(store) == first_pid || store.value("health", "") != "serving") &&
           absl::Now() < deadline);
  EXPECT_EQ(store.value("health", ""), "serving") << store.dump();
  EXPECT_GT(Pid(store), 0);
  EXPECT_NE(Pid(store), first_pid);
  EXPECT_EQ(store.value("restarts", -1), 1);
  EXPECT_THAT(Text(store, "last_exit"), HasSubstr("killed"));
  EXPECT_TRUE(ProcessGone(first_pid));
  EXPECT_THAT(ReadFile(home_ / "logs/supervisor.log"),
              HasSubstr(absl::StrCat("store (pid ", first_pid, ") killed by")));
}

TEST_F(EdgectlTest, UpFailsOnABadConfigKeyAndLeavesNothingRunning) {
  std::filesystem::create_directories(home_);
  std::ofstream(home_ / "config.toml") << "[store]\nbogus = 1\n";

  CommandResult up = Run({"up"});

  EXPECT_NE(up.exit_code, 0) << up.output;
  EXPECT_THAT(up.output, HasSubstr("store.bogus"));
  EXPECT_THAT(ProcessesUsingHome(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(home_ / "run/supervisor.pid"));
  EXPECT_EQ(Run({"status"}).exit_code, kExitNotRunning);
}

TEST_F(EdgectlTest, StatusJsonHasEveryField) {
  Up();
  int exit_code = -1;
  nlohmann::json status = StatusJson(&exit_code);
  EXPECT_EQ(exit_code, 0);

  EXPECT_EQ(status.value("edge_home", ""), home_.string());
  EXPECT_EQ(status.value("running", false), true);
  ASSERT_TRUE(status["supervisor"].is_object()) << status.dump();
  EXPECT_TRUE(status["supervisor"]["pid"].is_number_integer());
  EXPECT_TRUE(status["supervisor"]["started_at"].is_string());
  EXPECT_TRUE(status["supervisor"]["uptime_seconds"].is_number());

  nlohmann::json store = Service(status, "store");
  EXPECT_EQ(store.value("state", ""), "running");
  EXPECT_TRUE(store["pid"].is_number_integer());
  EXPECT_EQ(store.value("health", ""), "serving");
  EXPECT_TRUE(store["uptime_seconds"].is_number());
  EXPECT_GE(store.value("uptime_seconds", -1.0), 0.0);
  EXPECT_EQ(store.value("restarts", -1), 0);
  EXPECT_TRUE(store["last_exit"].is_null());
  EXPECT_EQ(store.value("listen", ""), absl::StrCat("unix:", home_.string(), "/run/store.sock"));
  EXPECT_THAT(store.value("binary", ""), HasSubstr("edge-store"));

  // Every other service is either supervised or reported as not installed.
  ASSERT_TRUE(status["not_installed"].is_array());
  for (const std::string name : {"router", "hub", "agent"}) {
    bool supervised = false;
    for (const nlohmann::json& s : status["services"]) supervised |= s.value("name", "") == name;
    bool missing = false;
    for (const nlohmann::json& n : status["not_installed"]) missing |= n == name;
    EXPECT_NE(supervised, missing) << name;
  }
}

TEST_F(EdgectlTest, StatusJsonWhenNotRunning) {
  int exit_code = -1;
  nlohmann::json status = StatusJson(&exit_code);
  EXPECT_EQ(exit_code, kExitNotRunning);
  EXPECT_EQ(status.value("running", true), false);
  EXPECT_THAT(status["services"], IsEmpty());
}

TEST_F(EdgectlTest, UpTwiceIsHarmless) {
  Up();
  nlohmann::json before = Service(StatusJson(), "store");

  CommandResult again = Run({"up"});

  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("already running"));
  nlohmann::json after = Service(StatusJson(), "store");
  EXPECT_EQ(Pid(after), Pid(before));
  EXPECT_EQ(after.value("restarts", -1), 0);
  EXPECT_EQ(after.value("health", ""), "serving");
}

TEST_F(EdgectlTest, DownWhenNotRunningSaysSo) {
  CommandResult down = Run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_THAT(down.output, HasSubstr("not running"));
}

TEST_F(EdgectlTest, DownStopsServicesLeftByAKilledSupervisor) {
  Up();
  nlohmann::json status = StatusJson();
  const pid_t supervisor_pid = Pid(status["supervisor"]);
  const pid_t store_pid = Pid(Service(status, "store"));
  const pid_t hub_pid = Pid(Service(status, "hub"));
  ASSERT_GT(supervisor_pid, 0);
  ASSERT_EQ(::kill(supervisor_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitUntilGone(supervisor_pid, absl::Seconds(5)));
  ASSERT_FALSE(ProcessGone(store_pid)) << "the store outlives its supervisor";

  CommandResult orphaned = Run({"status"});
  EXPECT_EQ(orphaned.exit_code, kExitNotRunning);
  EXPECT_THAT(orphaned.output, HasSubstr("without a supervisor"));

  CommandResult down = Run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_THAT(down.output, HasSubstr(absl::StrCat("stopped store (pid ", store_pid)));
  EXPECT_TRUE(WaitUntilGone(store_pid, absl::Seconds(1)));
  // The hub's broker is not edge-hub any more (it execs mosquitto): it stops with its supervisor.
  EXPECT_TRUE(WaitUntilGone(hub_pid, absl::Seconds(5)));
  EXPECT_THAT(ProcessesUsingHome(), IsEmpty());
}

TEST_F(EdgectlTest, UpReplacesServicesLeftByAKilledSupervisor) {
  Up();
  nlohmann::json status = StatusJson();
  const pid_t supervisor_pid = Pid(status["supervisor"]);
  const pid_t old_store = Pid(Service(status, "store"));
  ASSERT_EQ(::kill(supervisor_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitUntilGone(supervisor_pid, absl::Seconds(5)));

  CommandResult up = Up();

  EXPECT_THAT(up.output, HasSubstr(absl::StrCat("stopped store (pid ", old_store)));
  EXPECT_TRUE(ProcessGone(old_store));
  nlohmann::json store = Service(StatusJson(), "store");
  EXPECT_EQ(store.value("health", ""), "serving");
  EXPECT_NE(Pid(store), old_store);
}

TEST_F(EdgectlTest, UnknownCommandIsAUsageError) {
  CommandResult result = Run({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, Not(IsEmpty()));
}

// Modules outlive an agent restart, but `down` stops the whole runtime, modules included (the
// fixture's TearDown checks that no process of this home is left).
TEST_F(EdgectlTest, DownStopsTheDeployedModulesToo) {
  Up();
  const std::string manifest = (output_dir_ / "deployment.json").string();
  std::ofstream(manifest) << R"json({"modulesContent": {
    "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1",
      "runtime": {"type": "docker", "settings": {}},
      "modules": {"sleeper": {"version": "1.0", "type": "process", "status": "running",
        "restartPolicy": "always",
        "settings": {"image": "/bin/sh", "createOptions": "{\"Cmd\": [\"-c\", \"while true; do sleep 1; done\"]}"}}}}},
    "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {}}}}})json";
  CommandResult deploy = Run({"deploy", manifest});
  ASSERT_EQ(deploy.exit_code, 0) << deploy.output;
  CommandResult list;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    list = Run({"list"});
  } while (list.out.find("running") == std::string::npos && absl::Now() < deadline);
  ASSERT_THAT(list.out, HasSubstr("sleeper")) << list.output;

  CommandResult down = Run({"down"});

  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_THAT(down.output, HasSubstr("stopping 1 module"));
  EXPECT_THAT(ProcessesUsingHome(), IsEmpty());
}

// --- identities and twins through edgectl, as a new user would do it ---

// README's first steps: up, add a device, connect with mosquitto_pub using the device CA and a
// token from `edgectl identity sas`; an X.509 device with `edgectl certs client`.
TEST_F(EdgectlTest, ANewDeviceConnectsWithMosquittoPubUsingTheCaAndASasToken) {
  Up();
  ASSERT_EQ(Run({"identity", "add", "thermostat-1"}).exit_code, 0);
  CommandResult sas = Run({"identity", "sas", "thermostat-1"});
  ASSERT_EQ(sas.exit_code, 0) << sas.output;
  const std::string token = sas.out.substr(0, sas.out.size() - 1);

  Finished pub = MosquittoPub(sas_port_, "thermostat-1", {"-P", token});
  EXPECT_TRUE(pub.ExitedWith(0)) << pub.output << ReadFile(home_ / "logs/hub.log");

  ASSERT_EQ(Run({"identity", "add", "camera-1", "--auth", "x509"}).exit_code, 0);
  CommandResult cert = Run({"certs", "client", "camera-1", "--out", output_dir_.string()});
  ASSERT_EQ(cert.exit_code, 0) << cert.output;
  EXPECT_THAT(cert.out, HasSubstr("camera-1.pem"));
  Finished x509 = MosquittoPub(x509_port_, "camera-1",
                               {"--cert", (output_dir_ / "camera-1.pem").string(), "--key",
                                (output_dir_ / "camera-1.key.pem").string()});
  EXPECT_TRUE(x509.ExitedWith(0)) << x509.output << ReadFile(home_ / "logs/hub.log");
}

TEST_F(EdgectlTest, AddsADeviceAndPrintsItsConnectionStringAndSasToken) {
  Up();
  CommandResult add = Run({"identity", "add", "thermostat-1"});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_THAT(add.out, HasSubstr("thermostat-1"));

  CommandResult json = Run({"-o", "json", "identity", "show", "thermostat-1"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  nlohmann::json identity = nlohmann::json::parse(json.out);
  const std::string key = identity["primary_key"];
  EXPECT_EQ(identity["auth_type"], "AUTH_TYPE_SAS");

  CommandResult connection = Run({"identity", "show", "thermostat-1", "--connection-string"});
  ASSERT_EQ(connection.exit_code, 0) << connection.output;
  EXPECT_EQ(connection.out,
            absl::StrCat("HostName=localhost;DeviceId=thermostat-1;SharedAccessKey=", key,
                         ";GatewayHostName=localhost\n"));

  CommandResult sas = Run({"identity", "sas", "thermostat-1", "--ttl", "600"});
  ASSERT_EQ(sas.exit_code, 0) << sas.output;
  // Recompute the signature from the key: the token must be exactly what IoT Hub expects.
  const std::string token = sas.out.substr(0, sas.out.size() - 1);
  const size_t se_at = token.rfind("&se=");
  ASSERT_NE(se_at, std::string::npos) << token;
  const int64_t se = std::stoll(token.substr(se_at + 4));
  EXPECT_NEAR(static_cast<double>(se), absl::ToUnixSeconds(absl::Now()) + 600, 30);
  absl::StatusOr<std::string> expected =
      MakeSasToken("localhost/devices/thermostat-1", key, absl::FromUnixSeconds(se));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(token, *expected);
}

TEST_F(EdgectlTest, PatchesAndReadsATwin) {
  Up();
  ASSERT_EQ(Run({"identity", "add", "dev"}).exit_code, 0);
  ASSERT_EQ(Run({"identity", "add", "dev/filter"}).exit_code, 0);
  CommandResult desired =
      Run({"twin", "patch", "dev/filter", "--desired", R"({"threshold": 25, "unit": "C"})"});
  ASSERT_EQ(desired.exit_code, 0) << desired.output;
  ASSERT_EQ(Run({"twin", "patch", "dev/filter", "--desired", R"({"unit": null})"}).exit_code, 0);
  ASSERT_EQ(Run({"twin", "patch", "dev/filter", "--reported", R"({"state": "ok"})"}).exit_code, 0);
  CommandResult get = Run({"twin", "get", "dev/filter"});
  ASSERT_EQ(get.exit_code, 0) << get.output;
  nlohmann::json twin = nlohmann::json::parse(get.out);
  EXPECT_EQ(twin["deviceId"], "dev");
  EXPECT_EQ(twin["moduleId"], "filter");
  EXPECT_EQ(twin["properties"]["desired"],
            nlohmann::json::parse(R"({"threshold": 25, "$version": 3})"));
  EXPECT_EQ(twin["properties"]["reported"],
            nlohmann::json::parse(R"({"state": "ok", "$version": 2})"));

  std::ofstream(output_dir_ / "desired.json") << R"({"threshold": 30})";
  CommandResult stale = Run({"twin", "replace", "dev/filter", "--desired",
                             (output_dir_ / "desired.json").string(), "--version", "1"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("not the expected 1"));
  CommandResult replace = Run({"twin", "replace", "dev/filter", "--desired",
                               (output_dir_ / "desired.json").string(), "--version", "3"});
  ASSERT_EQ(replace.exit_code, 0) << replace.output;
  EXPECT_EQ(nlohmann::json::parse(replace.out)["properties"]["desired"]["threshold"], 30);
}

TEST_F(EdgectlTest, IdentityAndTwinErrorsAreClear) {
  Up();
  CommandResult bad_id = Run({"identity", "add", "has space"});
  EXPECT_EQ(bad_id.exit_code, 2);
  EXPECT_THAT(bad_id.err, HasSubstr("contains ' '"));
  CommandResult missing = Run({"twin", "get", "nobody"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no identity \"nobody\""));
  CommandResult bad_json = Run({"twin", "patch", "edge-device", "--desired", "{oops"});
  EXPECT_EQ(bad_json.exit_code, 2);
  EXPECT_THAT(bad_json.err, HasSubstr("not valid JSON"));
  CommandResult system = Run({"identity", "rm", "edge-device/$edgeHub"});
  EXPECT_EQ(system.exit_code, 1);
  EXPECT_THAT(system.err, HasSubstr("system modules"));
}

TEST_F(EdgectlTest, StoreCommandsSayWhenTheRuntimeIsNotUp) {
  CommandResult list = Run({"identity", "list"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_THAT(list.err, HasSubstr("edgectl up"));
}

TEST_F(EdgectlTest, QueueListAndStoreStatsShowWhatIsStored) {
  Up();
  auto stub = store::v1::MessageStore::NewStub(
      grpc::CreateChannel(absl::StrCat("unix:", (home_ / "run/store.sock").string()),
                          grpc::InsecureChannelCredentials()));
  store::v1::AppendMessagesRequest append;
  for (int i = 0; i < 3; ++i) {
    auto* m = append.add_messages();
    m->mutable_message()->set_body(std::string(100, 'x'));
    m->add_queues()->mutable_queue()->set_endpoint("$upstream");
  }
  grpc::ClientContext rpc;
  store::v1::AppendMessagesResponse appended;
  ASSERT_TRUE(stub->AppendMessages(&rpc, append, &appended).ok());

  CommandResult list = Run({"queue", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.out, HasSubstr("ENDPOINT"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("\\$upstream +default +3 "));

  CommandResult stats = Run({"-o", "json", "store", "stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  nlohmann::json doc = nlohmann::json::parse(stats.out);
  EXPECT_EQ(doc["entries"], "3");
  EXPECT_EQ(doc["full_policy"], "reject");
  EXPECT_EQ(doc["max_bytes"], std::to_string(int64_t{1} << 30));
  CommandResult table = Run({"store", "stats"});
  EXPECT_THAT(table.out, HasSubstr("of 1.00 GiB"));
}

TEST_F(EdgectlTest, UpCreatesTheCertificatesThatCertsShowLists) {
  CommandResult up = Up();
  EXPECT_THAT(up.out, HasSubstr("created the device CA"));
  const std::filesystem::path certs = home_ / "certs";
  for (const char* name : {"ca.pem", "ca.key.pem", "server.pem", "server.key.pem"}) {
    EXPECT_TRUE(std::filesystem::exists(certs / name)) << name;
  }
  EXPECT_EQ(std::filesystem::status(certs / "server.key.pem").permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  CommandResult show = Run({"certs", "show", "-o", "json"});
  ASSERT_EQ(show.exit_code, 0) << show.output;
  nlohmann::json doc = nlohmann::json::parse(show.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(doc.is_array() && doc.size() == 2) << show.out;
  EXPECT_EQ(doc[0]["name"], "ca");
  EXPECT_EQ(doc[0]["is_ca"], true);
  EXPECT_EQ(doc[1]["name"], "server");
  EXPECT_EQ(doc[1]["path"], (certs / "server.pem").string());
  EXPECT_EQ(doc[1]["sans"], nlohmann::json({"DNS:localhost", "IP:127.0.0.1"}));
  EXPECT_THAT(Text(doc[1], "not_after"), Not(IsEmpty()));

  CommandResult table = Run({"certs", "show"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.out, HasSubstr("DNS:localhost,IP:127.0.0.1"));

  // A second `up` keeps the certificates it finds.
  const std::string ca = ReadFile(certs / "ca.pem");
  CommandResult again = Up();
  EXPECT_THAT(again.out, Not(HasSubstr("created the device CA")));
  EXPECT_EQ(ReadFile(certs / "ca.pem"), ca);
}

TEST_F(EdgectlTest, CertsInitRefusesToOverwriteWithoutForce) {
  CommandResult init = Run({"certs", "init"});
  ASSERT_EQ(init.exit_code, 0) << init.output;
  const std::string ca = ReadFile(home_ / "certs" / "ca.pem");

  CommandResult again = Run({"certs", "init"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already exists; pass --force"));
  EXPECT_EQ(ReadFile(home_ / "certs" / "ca.pem"), ca);

  CommandResult forced = Run({"certs", "init", "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(ReadFile(home_ / "certs" / "ca.pem"), ca);
}

}  // namespace
}  // namespace edge::cli
