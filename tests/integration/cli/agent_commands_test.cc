// `edgectl deploy`, `list`, `logs` (--tail, --since, -f) and `start|stop|restart` against the real
// edge-store and edge-agent (started directly, without `up`) in a temp EDGE_HOME; modules are run
// by a ProcessRuntime of the test in the agent's modules_dir (no deployment: the agent's
// reconciler leaves them alone but carries out the commands).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/runtime/process_runtime.h"
#include "tests/integration/agent/agent_fixture.h"
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
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using Json = nlohmann::json;

class AgentCommandsTest : public agent::AgentFixture {
 protected:
  void SetUp() override { StartServices(); }

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
  EXPECT_THAT(list.output, MatchesRegex("NAME +STATUS +DESCRIPTION +CONFIG\n"
                                        "quitter +exited \\(3\\) +Exited .* ago +/bin/sh\n"
                                        "sleeper +running +Up .* +/bin/sh\n"));

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

TEST_F(AgentCommandsTest, StopStartAndRestartAModule) {
  ASSERT_TRUE(
      runtime_.Create({.name = "sleeper", .argv = {"/bin/sh", "-c", "exec sleep 30"}}).ok());
  ASSERT_TRUE(runtime_.Start("sleeper").ok());

  Finished stop = Edgectl({"stop", "sleeper"});
  EXPECT_EQ(ExitCode(stop), 0) << stop.output;
  EXPECT_EQ(stop.output,
            "sleeper: stopped; it stays stopped until `edgectl start sleeper`, `edgectl restart "
            "sleeper` or the next deployment\n");
  EXPECT_EQ(runtime_.Inspect("sleeper")->state, ModuleState::kExited);
  Finished list = Edgectl({"list"});
  EXPECT_THAT(list.output, MatchesRegex(".*sleeper +exited \\(143\\) +Exited .* ago \\(killed by "
                                        "SIGTERM\\) \\(stopped by edgectl stop\\) +/bin/sh\n"));

  Finished start = Edgectl({"start", "sleeper"});
  EXPECT_EQ(ExitCode(start), 0) << start.output;
  absl::StatusOr<ModuleStatus> started = runtime_.Inspect("sleeper");
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->state, ModuleState::kRunning);
  EXPECT_EQ(start.output, absl::StrCat("sleeper: running (pid ", started->pid, ")\n"));

  Finished restart = Edgectl({"restart", "sleeper", "-o", "json"});
  EXPECT_EQ(ExitCode(restart), 0) << restart.output;
  Json module = Json::parse(restart.output, nullptr, false);
  EXPECT_EQ(module["state"], "running") << restart.output;
  EXPECT_NE(module["pid"], started->pid) << restart.output;
  EXPECT_EQ(module["pid"], runtime_.Inspect("sleeper")->pid);
}

TEST_F(AgentCommandsTest, ModuleCommandsOfAnUnknownModuleExit1) {
  for (const std::string command : {"start", "stop", "restart"}) {
    Finished finished = Edgectl({command, "nobody"});
    EXPECT_EQ(ExitCode(finished), 1) << command << ": " << finished.output;
    EXPECT_EQ(finished.output, "edgectl: no module \"nobody\"\n") << command;
  }
}

TEST_F(AgentCommandsTest, ModuleCommandsOfAMalformedNameExit2) {
  Finished finished = Edgectl({"stop", "a/b"});
  EXPECT_EQ(ExitCode(finished), 2) << finished.output;
  EXPECT_THAT(finished.output, ::testing::StartsWith("edgectl: name: "));
}

TEST_F(AgentCommandsTest, LogsSinceSelectsLinesByTime) {
  ASSERT_TRUE(
      runtime_.Create({.name = "talker", .argv = {"/bin/sh", "-c", "echo one; echo two"}}).ok());
  ASSERT_TRUE(runtime_.Start("talker").ok());
  WaitForExit("talker");

  Finished hour = Edgectl({"logs", "talker", "--since", "1h"});
  EXPECT_EQ(ExitCode(hour), 0) << hour.output;
  EXPECT_EQ(hour.output, "one\ntwo\n");
  Finished future = Edgectl({"logs", "talker", "--since", "2099-01-01T00:00:00Z"});
  EXPECT_EQ(ExitCode(future), 0) << future.output;
  EXPECT_EQ(future.output, "");
  Finished past =
      Edgectl({"logs", "talker", "--since", "2020-01-01T00:00:00+01:00", "--tail", "1"});
  EXPECT_EQ(ExitCode(past), 0) << past.output;
  EXPECT_EQ(past.output, "two\n");
}

TEST_F(AgentCommandsTest, LogsWithABadSinceExits2) {
  Finished bad = Edgectl({"logs", "talker", "--since", "yesterday"});
  EXPECT_EQ(ExitCode(bad), 2) << bad.output;
  EXPECT_EQ(bad.output,
            "edgectl: --since: \"yesterday\" is neither a duration (10m, 1h30m) nor an RFC 3339 "
            "time (2026-01-02T15:04:05Z)\n");
  Finished negative = Edgectl({"logs", "talker", "--since", "-5m"});
  EXPECT_EQ(ExitCode(negative), 2) << negative.output;
  EXPECT_EQ(negative.output,
            "edgectl: --since: \"-5m\" is negative; give how long ago, like 10m\n");
}

TEST_F(AgentCommandsTest, LogsFollowPrintsNewLinesUntilTheModuleIsRemoved) {
  ASSERT_TRUE(runtime_
                  .Create({.name = "ticker",
                           .argv = {"/bin/sh", "-c",
                                    "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; "
                                    "done"}})
                  .ok());
  ASSERT_TRUE(runtime_.Start("ticker").ok());
  const std::filesystem::path output = home_.path() / "follow.out";
  absl::StatusOr<Subprocess> follow =
      Subprocess::Start({.argv = {(BinDir() / "edgectl").string(), "--edge-home",
                                  home_.path().string(), "logs", "ticker", "-f"},
                         .log_file = output});
  ASSERT_TRUE(follow.ok()) << follow.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ReadFile(output).find("tick 20\n") == std::string::npos && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_THAT(ReadFile(output), HasSubstr("tick 20\n"));
  EXPECT_TRUE(follow->Poll() == std::nullopt) << "edgectl logs -f ended early";

  ASSERT_TRUE(runtime_.Remove("ticker").ok());
  absl::StatusOr<int> ended = follow->Wait(absl::Seconds(5));
  ASSERT_TRUE(ended.ok()) << "edgectl logs -f still runs after the module was removed";
  EXPECT_TRUE(WIFEXITED(*ended) && WEXITSTATUS(*ended) == 0) << ReadFile(output);
  EXPECT_THAT(ReadFile(output), ::testing::StartsWith("tick 0\ntick 1\n"));
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
