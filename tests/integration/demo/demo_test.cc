// `make demo` as a test: scripts/demo.sh runs as a user runs it (its own EDGE_HOME with loopback
// ports, a stand-in upstream broker), and while its live tail runs the test checks, through
// edgectl, what the demo claims: the sample modules run, readings flow sensor → filter, an alert
// reaches the `$upstream` queue (and the upstream), a
// desired property changes the sensor's rate, the filter answers `reset`, and the modules recover
// by themselves when the hub is killed and restarted. Ctrl-C (SIGINT to the demo's process group)
// or DEMO_SECONDS ends it, and nothing is left running.
#include <sys/prctl.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/processes.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/runtime_home.h"
#include "tests/support/service_process.h"
#include "tests/support/wait_until.h"

namespace edge {
namespace {

using ::edge::testing::BinDir;
using ::edge::testing::Finished;
using ::edge::testing::MakeRuntimeHome;
using ::edge::testing::ProcessesNaming;
using ::edge::testing::ReadFile;
using ::edge::testing::RunToExit;
using ::edge::testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

constexpr char kSensorQueue[] = "BrokeredEndpoint(\"/modules/filter/inputs/input1\")";

class DemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The supervisor outlives `edgectl up`: as a subreaper the test sees (and reaps) it.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }

  void SetUp() override {
    bin_dir_ = BinDir();
    home_ = MakeRuntimeHome("edge-demo").path;
    ASSERT_FALSE(home_.empty());
  }

  void TearDown() override {
    if (demo_.has_value() && demo_->running()) demo_->Stop(absl::Seconds(5));
    RunToExit({(bin_dir_ / "edgectl").string(), "--edge-home", home_.string(), "down"},
              absl::Seconds(30));
    for (pid_t pid : ProcessesNaming(home_.string())) ::kill(pid, SIGKILL);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }

  // Starts scripts/demo.sh in its own session (a process group, as a terminal would run it).
  void StartDemo(const std::string& demo_seconds) {
    std::vector<std::pair<std::string, std::string>> env = {{"EDGE_HOME", home_.string()},
                                                            {"EDGE_BIN_DIR", bin_dir_.string()}};
    if (!demo_seconds.empty()) env.emplace_back("DEMO_SECONDS", demo_seconds);
    absl::StatusOr<Subprocess> demo =
        Subprocess::Start({.argv = {"/bin/bash", EDGE_SOURCE_DIR "/scripts/demo.sh"},
                           .env = env,
                           .log_file = home_.string() + ".demo.log",
                           .new_session = true});
    ASSERT_TRUE(demo.ok()) << demo.status();
    demo_ = std::move(*demo);
  }

  // Waits for the demo to end by itself; its exit code (-1 when it did not end in time).
  int WaitForDemo(absl::Duration timeout) {
    absl::StatusOr<int> status = demo_->Wait(timeout);
    if (!status.ok()) return -1;
    return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  std::string DemoOutput() const { return ReadFile(home_.string() + ".demo.log"); }

  Finished Edgectl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {(bin_dir_ / "edgectl").string(), "--edge-home",
                                     home_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunToExit(argv, absl::Seconds(30));
  }

  Json EdgectlJson(const std::vector<std::string>& args) {
    Finished finished = Edgectl(args);
    return Json::parse(finished.output, nullptr, /*allow_exceptions=*/false);
  }

  // Module name → pid of the running modules.
  std::map<std::string, int64_t> RunningModules() {
    std::map<std::string, int64_t> running;
    Json list = EdgectlJson({"list", "-o", "json"});
    if (!list.is_array()) return running;
    for (const Json& module : list) {
      if (module.value("state", "") == "running") {
        running[module.value("name", "")] = module.value("pid", int64_t{0});
      }
    }
    return running;
  }

  Json Reported(const std::string& module) {
    Json twin = EdgectlJson({"twin", "get", absl::StrCat("edge-device/", module)});
    return twin.is_object() ? twin["properties"]["reported"] : Json::object();
  }

  // The filter's reported `received` count; -1 before its first report.
  int64_t FilterReceived() {
    Json reported = Reported("filter");
    return reported.contains("received") ? reported["received"].get<int64_t>() : -1;
  }

  // Entries that reached the default-priority queue of `endpoint`: waiting there or delivered
  // (`edgectl endpoint list -o json`); 0 when it has none yet.
  int64_t Reached(const std::string& endpoint) {
    Json stats = EdgectlJson({"endpoint", "list", "-o", "json"});
    if (!stats.is_object()) return 0;
    for (const Json& queue : stats.value("queues", Json::array())) {
      if (queue.value("endpoint", "") == endpoint && !queue.contains("priority")) {
        // A uint64 is a string in proto JSON.
        return std::stoll(queue.value("depth", "0")) + std::stoll(queue.value("delivered", "0"));
      }
    }
    return 0;
  }

  // Messages routed from tempSensor during `seconds`, counted by `edgectl monitor`.
  int SensorMessagesIn(int seconds) {
    Finished monitor = Edgectl({"monitor", "--endpoint", kSensorQueue, "--timeout",
                                std::to_string(seconds), "-o", "json"});
    int count = 0;
    for (size_t at = monitor.output.find("\"routed_unix_ms\""); at != std::string::npos;
         at = monitor.output.find("\"routed_unix_ms\"", at + 1)) {
      ++count;
    }
    return count;
  }

  pid_t HubPid() {
    Json status = EdgectlJson({"status", "-o", "json"});
    if (!status.is_object()) return 0;
    for (const Json& service : status.value("services", Json::array())) {
      if (service.value("name", "") == "hub" && service["pid"].is_number_integer()) {
        return service["pid"].get<pid_t>();
      }
    }
    return 0;
  }

  std::filesystem::path bin_dir_;
  std::filesystem::path home_;
  std::optional<Subprocess> demo_;
};

TEST_F(DemoTest, TheExampleRunsRoutesAnswersAndRecoversUntilCtrlC) {
  StartDemo("");  // the live tail runs until Ctrl-C

  // The modules reach running.
  std::map<std::string, int64_t> modules;
  ASSERT_TRUE(WaitUntil(
      [&] {
        modules = RunningModules();
        return modules.size() == 2;
      },
      absl::Seconds(60)))
      << DemoOutput();
  EXPECT_TRUE(modules.count("tempSensor") && modules.count("filter")) << DemoOutput();

  // Readings flow sensor → filter: the filter reports what it received.
  ASSERT_TRUE(WaitUntil([&] { return FilterReceived() > 0; }, absl::Seconds(30)))
      << Reported("filter").dump();

  // An alert reaches the $upstream queue: every reading is above a threshold of -100.
  ASSERT_EQ(Edgectl({"twin", "patch", "edge-device/filter", "--desired",
                     R"({"TemperatureThreshold": -100})"})
                .wait_status,
            0);
  ASSERT_TRUE(WaitUntil([&] { return Reached("$upstream") > 0; }, absl::Seconds(30)))
      << EdgectlJson({"endpoint", "list", "-o", "json"}).dump();
  EXPECT_EQ(Reported("filter").value("TemperatureThreshold", 0.0), -100.0);

  // A desired property changes the sensor's rate: every 0.5 s (the deployment) → every 0.05 s.
  const int slow = SensorMessagesIn(2);
  ASSERT_EQ(
      Edgectl({"twin", "patch", "edge-device/tempSensor", "--desired", R"({"SendInterval": 0.05})"})
          .wait_status,
      0);
  ASSERT_TRUE(WaitUntil([&] { return Reported("tempSensor").value("SendInterval", 0.0) == 0.05; },
                        absl::Seconds(10)));
  const int fast = SensorMessagesIn(2);
  EXPECT_LE(slow, 6) << "about 4 readings in 2 s at SendInterval 0.5";
  EXPECT_GE(fast, 3 * std::max(slow, 2)) << "slow " << slow << ", fast " << fast;

  // `edgectl invoke … reset` reaches the filter, which answers its counts and zeroes them.
  Finished reset = Edgectl({"invoke", "edge-device/filter", "reset"});
  EXPECT_TRUE(reset.ExitedWith(0)) << reset.output;
  EXPECT_THAT(reset.output, HasSubstr("status 200"));
  EXPECT_THAT(reset.output, HasSubstr("\"received\":"));
  Finished unknown = Edgectl({"invoke", "edge-device/filter", "calibrate"});
  EXPECT_TRUE(unknown.ExitedWith(1)) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("status 404"));

  // The hub is killed; the supervisor restarts it and the modules reconnect by themselves (the
  // same processes: nothing restarts them), and readings flow again.
  const pid_t hub = HubPid();
  ASSERT_GT(hub, 0);
  ASSERT_EQ(::kill(hub, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const pid_t now = HubPid();
        return now > 0 && now != hub;
      },
      absl::Seconds(30)));
  ASSERT_TRUE(WaitUntil([&] { return SensorMessagesIn(1) > 0; }, absl::Seconds(30)));
  const int64_t received = FilterReceived();
  EXPECT_TRUE(WaitUntil([&] { return FilterReceived() > received; }, absl::Seconds(30)))
      << "the filter receives readings again after the hub's restart";
  EXPECT_EQ(RunningModules(), modules) << "the modules reconnected; none was restarted";

  // Ctrl-C: the tail ends, the demo shows what the modules did and stops everything.
  ASSERT_EQ(::kill(-demo_->pid(), SIGINT), 0);
  EXPECT_EQ(WaitForDemo(absl::Seconds(60)), 0) << DemoOutput();
  const std::string output = DemoOutput();
  EXPECT_THAT(output, HasSubstr("tempSensor  running"));
  EXPECT_THAT(output, HasSubstr("[sensorToFilter]"));
  EXPECT_THAT(output, HasSubstr("[alertsToUpstream]"));
  EXPECT_THAT(output, HasSubstr("upstream link: online"));
  EXPECT_THAT(output, ::testing::ContainsRegex("[1-9][0-9]* messages reached the upstream"));
  EXPECT_THAT(output, HasSubstr("edge-origin-module=filter"));
  EXPECT_THAT(output, HasSubstr("the edge runtime is stopped"));
  EXPECT_THAT(output, HasSubstr("no process is left running"));
  EXPECT_THAT(ProcessesNaming(home_.string()), IsEmpty());
}

TEST_F(DemoTest, DemoSecondsEndsTheDemoAndLeavesNoProcess) {
  StartDemo("3");
  EXPECT_EQ(WaitForDemo(absl::Seconds(90)), 0) << DemoOutput();
  const std::string output = DemoOutput();
  EXPECT_THAT(output, HasSubstr("for 3s"));
  EXPECT_THAT(output, HasSubstr("filter      running"));
  EXPECT_THAT(output, HasSubstr("edge-device/tempSensor:temperatureOutput -> "));
  EXPECT_THAT(output, HasSubstr("status 200"));  // the reset method's answer
  EXPECT_THAT(output, HasSubstr("no process is left running"));
  EXPECT_THAT(ProcessesNaming(home_.string()), IsEmpty());
}

}  // namespace
}  // namespace edge
