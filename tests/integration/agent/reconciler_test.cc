// The reconciler end to end, with the real edge-store and edge-agent over unix sockets in a temp
// EDGE_HOME and real /bin/sh modules: a deployment's modules run and are reported; an invalid
// desired document is rejected (400 reported) while the modules keep running; removing and
// renaming modules; a crashing module restarted with backoff (small numbers from the config); an
// agent killed with SIGKILL adopts its running modules without restarting them.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "edge/agent/v1/agent.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/runtime/process_runtime.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::agent {
namespace {

using ::edge::testing::BinDir;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using Json = nlohmann::json;

constexpr char kAgentTwin[] = "edge-device/$edgeAgent";
constexpr char kForever[] = "echo started; while true; do sleep 0.2; done";

std::unique_ptr<grpc::ClientContext> Rpc() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

// A `process` module running `/bin/sh -c script`.
Json ShellModule(const std::string& script, const std::string& restart_policy = "always",
                 int startup_order = 1) {
  return {{"version", "1.0"},
          {"type", "process"},
          {"status", "running"},
          {"restartPolicy", restart_policy},
          {"startupOrder", startup_order},
          {"settings",
           {{"image", "/bin/sh"}, {"createOptions", Json{{"Cmd", {"-c", script}}}.dump()}}}};
}

Json AgentDesired(const Json& modules) {
  return {{"schemaVersion", "1.1"},
          {"runtime", {{"type", "process"}}},
          {"systemModules",
           {{"edgeAgent", {{"type", "docker"}, {"settings", {{"image", "edge-agent"}}}}},
            {"edgeHub",
             {{"type", "docker"},
              {"status", "running"},
              {"restartPolicy", "always"},
              {"settings", {{"image", "edge-hub"}}}}}}},
          {"modules", modules}};
}

Json Deployment(const Json& modules) {
  return {
      {"modulesContent",
       {{"$edgeAgent", {{"properties.desired", AgentDesired(modules)}}},
        {"$edgeHub",
         {{"properties.desired",
           {{"schemaVersion", "1.1"}, {"routes", {{"r", "FROM /messages/* INTO $upstream"}}}}}}}}}};
}

// Polls `done` every 20 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(home_.path() / "config.toml")
        << "[agent]\nreconcile_interval_seconds = 0.2\nrestart_initial_delay_seconds = 0.2\n"
           "restart_max_delay_seconds = 0.8\n";
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    StartAgent();
    twins_ = store::v1::TwinStore::NewStub(store_.Channel());
  }

  void StartAgent() {
    absl::Status started = agent_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << agent_.Log();
    agent_stub_ = v1::Agent::NewStub(agent_.Channel());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::printf("agent log:\n%s\nstore log:\n%s\n", agent_.Log().c_str(), store_.Log().c_str());
    }
    agent_.Stop();  // before the modules, or it would start them again
    if (absl::StatusOr<std::vector<ModuleStatus>> all = runtime_.List(); all.ok()) {
      for (const ModuleStatus& m : *all) runtime_.Stop(m.config.name).IgnoreError();
    }
  }

  int64_t Apply(const Json& modules) {
    v1::ApplyDeploymentRequest request;
    request.set_deployment_json(Deployment(modules).dump());
    v1::ApplyDeploymentResponse response;
    grpc::Status status = agent_stub_->ApplyDeployment(Rpc().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.agent_desired_version();
  }

  std::map<std::string, v1::Module> Modules() {
    v1::ListModulesResponse response;
    grpc::Status status = agent_stub_->ListModules(Rpc().get(), {}, &response);
    std::map<std::string, v1::Module> modules;
    if (!status.ok()) return modules;
    for (const v1::Module& module : response.modules()) modules[module.name()] = module;
    return modules;
  }

  // True when exactly `names` are modules, all running.
  bool Running(const std::vector<std::string>& names) {
    std::map<std::string, v1::Module> modules = Modules();
    if (modules.size() != names.size()) return false;
    for (const std::string& name : names) {
      auto it = modules.find(name);
      if (it == modules.end() || it->second.state() != v1::MODULE_STATE_RUNNING) return false;
    }
    return true;
  }

  Json Reported() {
    store::v1::GetTwinRequest request;
    request.set_id(kAgentTwin);
    store::v1::Twin twin;
    grpc::Status status = twins_->GetTwin(Rpc().get(), request, &twin);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return Json::parse(twin.reported().json(), nullptr, false);
  }

  bool ReportedStatus(int64_t version, int code) {
    Json reported = Reported();
    return reported.value("lastDesiredVersion", int64_t{0}) == version &&
           reported["lastDesiredStatus"].value("code", 0) == code;
  }

  // `modules.{name}` of the reported properties; {} when not there.
  Json ReportedModule(const std::string& name) {
    Json reported = Reported();
    Json module = reported["modules"][name];
    return module.is_object() ? module : Json::object();
  }

  std::string RuntimeStatus(const std::string& name) {
    return ReportedModule(name).value("runtimeStatus", "");
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess agent_{"agent", home_.path()};
  std::unique_ptr<v1::Agent::Stub> agent_stub_;
  std::unique_ptr<store::v1::TwinStore::Stub> twins_;
  // The agent's modules_dir, to clean up after the test.
  ProcessRuntime runtime_{
      {.modules_dir = home_.path() / "data/modules", .monitor = BinDir() / "edge-module-monitor"}};
};

TEST_F(ReconcilerTest, DeployedModulesRunAndAreReported) {
  const absl::Time applied = absl::Now();
  const int64_t version = Apply({{"first", ShellModule(kForever, "always", 1)},
                                 {"second", ShellModule(kForever, "on-failure", 2)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"first", "second"}); }));
  std::printf("ApplyDeployment to 2 modules running: %.1f ms\n",
              absl::ToDoubleMilliseconds(absl::Now() - applied));

  ASSERT_TRUE(WaitUntil([&] {
    return ReportedStatus(version, 200) && RuntimeStatus("first") == "running" &&
           RuntimeStatus("second") == "running";
  })) << Reported().dump(2);
  Json reported = Reported();
  EXPECT_EQ(reported["schemaVersion"], "1.1");
  EXPECT_EQ(reported["modules"]["second"]["restartPolicy"], "on-failure");
  EXPECT_EQ(reported["modules"]["second"]["status"], "running");
  EXPECT_EQ(reported["modules"]["second"]["settings"]["image"], "/bin/sh");
  EXPECT_EQ(reported["modules"]["second"]["restartCount"], 0);
  EXPECT_THAT(reported["modules"]["first"].value("lastStartTimeUtc", ""),
              ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z"));
  EXPECT_EQ(reported["systemModules"]["edgeHub"]["status"], "running");
}

TEST_F(ReconcilerTest, InvalidDesiredIsRejectedAndModulesKeepRunning) {
  const int64_t version = Apply({{"steady", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"steady"}); }));
  const int64_t pid = Modules()["steady"].pid();

  // ApplyDeployment refuses an invalid deployment, so write it as another writer could.
  Json invalid = AgentDesired({{"steady", ShellModule(kForever, "sometimes")}});
  store::v1::ReplaceDesiredRequest request;
  request.set_id(kAgentTwin);
  request.set_json(invalid.dump());
  store::v1::Twin twin;
  ASSERT_TRUE(twins_->ReplaceDesired(Rpc().get(), request, &twin).ok());
  ASSERT_EQ(twin.desired().version(), version + 1);

  ASSERT_TRUE(WaitUntil([&] { return ReportedStatus(version + 1, 400); })) << Reported().dump(2);
  EXPECT_THAT(Reported()["lastDesiredStatus"].value("description", ""),
              ::testing::HasSubstr("$edgeAgent.modules.steady.restartPolicy"));
  absl::SleepFor(absl::Milliseconds(500));  // a few reconcile passes
  EXPECT_TRUE(Running({"steady"}));
  EXPECT_EQ(Modules()["steady"].pid(), pid);
}

TEST_F(ReconcilerTest, RemovedModuleStopsAndRenamedModuleRuns) {
  Apply({{"stays", ShellModule(kForever, "always", 1)},
         {"goes", ShellModule(kForever, "always", 2)},
         {"old-name", ShellModule(kForever, "always", 3)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"stays", "goes", "old-name"}); }));
  const int64_t stays_pid = Modules()["stays"].pid();
  const int64_t goes_pid = Modules()["goes"].pid();

  Apply({{"stays", ShellModule(kForever, "always", 1)},
         {"new-name", ShellModule(kForever, "always", 3)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"stays", "new-name"}); }));
  EXPECT_EQ(Modules()["stays"].pid(), stays_pid);
  EXPECT_NE(kill(static_cast<pid_t>(goes_pid), 0), 0) << "the removed module still runs";
  ASSERT_TRUE(WaitUntil([&] {
    Json modules = Reported()["modules"];
    return !modules.contains("goes") && !modules.contains("old-name") &&
           RuntimeStatus("new-name") == "running";
  })) << Reported().dump(2);
}

TEST_F(ReconcilerTest, CrashingModuleIsRestartedWithBackoff) {
  Apply({{"crasher", ShellModule("echo crashing; sleep 0.1; exit 1", "always")}});
  ASSERT_TRUE(WaitUntil([&] {
    Json crasher = ReportedModule("crasher");
    return crasher.value("restartCount", 0) >= 3 && crasher.value("runtimeStatus", "") == "backoff";
  })) << Reported().dump(2);
  Json crasher = ReportedModule("crasher");
  EXPECT_TRUE(crasher.contains("lastRestartTimeUtc")) << crasher.dump(2);
  EXPECT_TRUE(crasher.contains("lastExitTimeUtc")) << crasher.dump(2);
  EXPECT_EQ(crasher["exitCode"], 1);
  EXPECT_EQ(crasher["statusDescription"], "exited with 1");
  // Between runs it waits out its backoff (0.2, 0.4, 0.8, 0.8 s here) and runs again.
  EXPECT_TRUE(WaitUntil([&] { return ReportedModule("crasher").value("restartCount", 0) >= 4; }));
}

TEST_F(ReconcilerTest, OnFailureLeavesACleanExitStopped) {
  Apply({{"once", ShellModule("echo done", "on-failure")}});
  ASSERT_TRUE(WaitUntil([&] { return RuntimeStatus("once") == "stopped"; })) << Reported().dump(2);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(ReportedModule("once")["restartCount"], 0);
  EXPECT_EQ(ReportedModule("once")["exitCode"], 0);
}

TEST_F(ReconcilerTest, DockerModuleIsReportedNotRun) {
  Json docker = ShellModule(kForever);
  docker["type"] = "docker";
  docker["settings"]["image"] = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.0";
  Apply({{"docker-one", docker}, {"proc", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"proc"}); }));
  ASSERT_TRUE(WaitUntil([&] { return RuntimeStatus("docker-one") == "unknown"; }));
  EXPECT_EQ(ReportedModule("docker-one")["statusDescription"],
            "docker modules need the docker backend");
}

TEST_F(ReconcilerTest, RestartedAgentAdoptsRunningModules) {
  const int64_t version = Apply({{"survivor", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"survivor"}); }));
  ASSERT_TRUE(WaitUntil([&] { return ReportedStatus(version, 200); }));
  const v1::Module before = Modules()["survivor"];

  agent_.Kill();
  StartAgent();
  absl::SleepFor(absl::Seconds(1));  // several reconcile passes
  ASSERT_TRUE(Running({"survivor"}));
  const v1::Module after = Modules()["survivor"];
  EXPECT_EQ(after.pid(), before.pid());
  EXPECT_EQ(after.started_unix_ms(), before.started_unix_ms());
  EXPECT_TRUE(ReportedStatus(version, 200));
  EXPECT_EQ(RuntimeStatus("survivor"), "running");
}

TEST_F(ReconcilerTest, RestartedAgentBringsTheDeploymentBackFromItsState) {
  Apply({{"back", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"back"}); }));
  // As after a reboot: the agent and its modules are gone; the store has the agent's state.
  agent_.Kill();
  ASSERT_TRUE(runtime_.Remove("back").ok());
  StartAgent();
  ASSERT_TRUE(WaitUntil([&] { return Running({"back"}); }));
}

}  // namespace
}  // namespace edge::agent
