// `edgectl deploy`, `list` and `logs` against the real edge-store and edge-agent (started directly,
// without `up`) in a temp EDGE_HOME; modules are run by a ProcessRuntime of the test in the agent's
// modules_dir, as the reconciler will run them.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/runtime/process_runtime.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::cli {
namespace {

using ::edge::agent::ModuleState;
using ::edge::agent::ModuleStatus;
using ::edge::agent::ProcessRuntime;
using ::edge::testing::BinDir;
using ::edge::testing::Finished;
using ::edge::testing::ReadFile;
using ::edge::testing::RunToExit;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using Json = nlohmann::json;

class AgentCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    absl::Status started = agent_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << agent_.Log();
  }

  void TearDown() override {
    // The agent first: its reconciler runs the deployments applied here.
    agent_.Stop();
    if (absl::StatusOr<std::vector<ModuleStatus>> all = runtime_.List(); all.ok()) {
      for (const ModuleStatus& m : *all) runtime_.Stop(m.config.name).IgnoreError();
    }
  }

  // `edgectl --edge-home <home> args...`; stdout and stderr together.
  Finished Edgectl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {(BinDir() / "edgectl").string(), "--edge-home",
                                     home_.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunToExit(argv, absl::Seconds(30));
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::filesystem::path path = home_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }

  static int ExitCode(const Finished& finished) {
    return WIFEXITED(finished.wait_status) ? WEXITSTATUS(finished.wait_status) : -1;
  }

  void WaitForExit(const std::string& name) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<ModuleStatus> status = runtime_.Inspect(name);
    while (status.ok() && status->state != ModuleState::kExited && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
      status = runtime_.Inspect(name);
    }
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess agent_{"agent", home_.path()};
  ProcessRuntime runtime_{
      {.modules_dir = home_.path() / "data/modules", .monitor = BinDir() / "edge-module-monitor"}};
};

TEST_F(AgentCommandsTest, DeployWritesTheDeploymentAndPrintsTheVersions) {
  Finished deploy = Edgectl({"deploy", EDGE_EXAMPLES_DIR "/deployments/shell-modules.json"});
  EXPECT_EQ(ExitCode(deploy), 0) << deploy.output;
  EXPECT_EQ(deploy.output,
            "deployment written: $edgeAgent desired version 2, $edgeHub desired version 2\n");

  Finished json =
      Edgectl({"deploy", EDGE_EXAMPLES_DIR "/deployments/shell-modules.json", "-o", "json"});
  EXPECT_EQ(ExitCode(json), 0) << json.output;
  Json parsed = Json::parse(json.output, nullptr, false);
  EXPECT_EQ(parsed["agent_desired_version"], 3) << json.output;
  EXPECT_EQ(parsed["hub_desired_version"], 3) << json.output;
}

TEST_F(AgentCommandsTest, DeployOfABadManifestPrintsEveryReasonAndExits2) {
  Json deployment = Json::parse(ReadFile(EDGE_EXAMPLES_DIR "/deployments/shell-modules.json"));
  Json& agent = deployment["modulesContent"]["$edgeAgent"]["properties.desired"];
  agent["modules"]["ticker"]["restartPolicy"] = "sometimes";
  agent.erase("runtime");
  const std::string file = WriteFile("bad.json", deployment.dump());

  Finished deploy = Edgectl({"deploy", file});
  EXPECT_EQ(ExitCode(deploy), 2) << deploy.output;
  EXPECT_EQ(deploy.output,
            "edgectl: " + file +
                " is not a valid deployment (400); nothing was written:\n"
                "  $edgeAgent.runtime: is required\n"
                "  $edgeAgent.modules.ticker.restartPolicy: \"sometimes\" is not one of never, "
                "on-failure, on-unhealthy, always\n");
}

TEST_F(AgentCommandsTest, DeployOfAnUnsupportedSchemaVersionExits2) {
  Json deployment = Json::parse(ReadFile(EDGE_EXAMPLES_DIR "/deployments/shell-modules.json"));
  deployment["modulesContent"]["$edgeHub"]["properties.desired"]["schemaVersion"] = "1.4";
  const std::string file = WriteFile("bad-schema.json", deployment.dump());
  Finished deploy = Edgectl({"deploy", file});
  EXPECT_EQ(ExitCode(deploy), 2) << deploy.output;
  EXPECT_THAT(deploy.output, HasSubstr("is not a valid deployment (412)"));
  EXPECT_THAT(deploy.output, HasSubstr("  $edgeHub.schemaVersion: "));
}

TEST_F(AgentCommandsTest, DeployOfAMissingFileExits2) {
  Finished deploy = Edgectl({"deploy", "/nonexistent/deployment.json"});
  EXPECT_EQ(ExitCode(deploy), 2) << deploy.output;
  EXPECT_EQ(deploy.output, "edgectl: cannot read /nonexistent/deployment.json\n");
}

TEST_F(AgentCommandsTest, ListShowsModulesAsDockerDoes) {
  ASSERT_TRUE(
      runtime_.Create({.name = "sleeper", .argv = {"/bin/sh", "-c", "exec sleep 30"}}).ok());
  ASSERT_TRUE(runtime_.Start("sleeper").ok());
  ASSERT_TRUE(runtime_.Create({.name = "quitter", .argv = {"/bin/sh", "-c", "exit 3"}}).ok());
  ASSERT_TRUE(runtime_.Start("quitter").ok());
  WaitForExit("quitter");

  Finished list = Edgectl({"list"});
  EXPECT_EQ(ExitCode(list), 0) << list.output;
  EXPECT_THAT(list.output, MatchesRegex("NAME +STATUS +DESCRIPTION\n"
                                        "quitter +exited \\(3\\) +Exited .* ago\n"
                                        "sleeper +running +Up .*\n"));

  Finished json = Edgectl({"list", "-o", "json"});
  EXPECT_EQ(ExitCode(json), 0) << json.output;
  Json modules = Json::parse(json.output, nullptr, false);
  ASSERT_TRUE(modules.is_array()) << json.output;
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0]["name"], "quitter");
  EXPECT_EQ(modules[0]["state"], "exited");
  EXPECT_EQ(modules[0]["exit_code"], 3);
  EXPECT_EQ(modules[0]["pid"], nullptr);
  EXPECT_EQ(modules[1]["name"], "sleeper");
  EXPECT_EQ(modules[1]["status"], "running");
  EXPECT_TRUE(modules[1]["pid"].is_number_integer());
  EXPECT_THAT(modules[1]["started_at"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
}

TEST_F(AgentCommandsTest, LogsPrintsTheModulesOutput) {
  ASSERT_TRUE(runtime_
                  .Create({.name = "talker",
                           .argv = {"/bin/sh", "-c", "for i in 1 2 3; do echo line $i; done"}})
                  .ok());
  ASSERT_TRUE(runtime_.Start("talker").ok());
  WaitForExit("talker");

  Finished logs = Edgectl({"logs", "talker"});
  EXPECT_EQ(ExitCode(logs), 0) << logs.output;
  EXPECT_EQ(logs.output, "line 1\nline 2\nline 3\n");
  Finished tail = Edgectl({"logs", "talker", "--tail", "1"});
  EXPECT_EQ(ExitCode(tail), 0) << tail.output;
  EXPECT_EQ(tail.output, "line 3\n");
}

TEST_F(AgentCommandsTest, LogsOfAnUnknownModuleExits1) {
  Finished logs = Edgectl({"logs", "nobody"});
  EXPECT_EQ(ExitCode(logs), 1) << logs.output;
  EXPECT_EQ(logs.output, "edgectl: no module \"nobody\"\n");
}

TEST_F(AgentCommandsTest, AnAgentThatIsNotRunningGetsAHint) {
  agent_.Stop();
  Finished list = Edgectl({"list"});
  EXPECT_EQ(ExitCode(list), 1) << list.output;
  EXPECT_THAT(list.output, HasSubstr("edge-agent is not reachable (start the runtime with "
                                     "`edgectl up`)"));
}

}  // namespace
}  // namespace edge::cli
