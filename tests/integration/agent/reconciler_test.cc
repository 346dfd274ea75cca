// The reconciler end to end, with the real edge-store and edge-agent over unix sockets in a temp
// EDGE_HOME and real /bin/sh modules: a deployment's modules run and are reported; an invalid
// desired document is rejected (400 reported) while the modules keep running; removing and
// renaming modules; a crashing module restarted with backoff (small numbers from the config); an
// agent killed with SIGKILL adopts its running modules without restarting them; health checks
// (a module whose Healthcheck starts failing is restarted under on-unhealthy, reported unhealthy
// under on-failure); edgeHub's runtimeStatus from the health of edge-hub, edge-router (played
// here by the real edge-router and a health server of the test for the hub) and edge-store;
// StartModule/StopModule/RestartModule and their errors; WatchModules.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/service_runner.h"
#include "edge/agent/v1/agent.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/runtime/process_runtime.h"
#include "tests/integration/agent/agent_fixture.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace edge::agent {
namespace {

using ::edge::testing::ServiceProcess;
using ::edge::testing::WaitUntil;
using Json = nlohmann::json;

constexpr char kAgentTwin[] = "edge-device/$edgeAgent";
constexpr char kForever[] = "echo started; while true; do sleep 0.2; done";

// A `process` module running `/bin/sh -c script` with a Healthcheck `test -f healthy` (a file in
// its working directory, its state directory) every 200 ms, unhealthy after 2 failures.
Json HealthCheckedModule(const std::string& script, const std::string& restart_policy) {
  Json module = ShellModule(script, restart_policy);
  module["settings"]["createOptions"] = Json{
      {"Cmd", {"-c", script}},
      {"Healthcheck",
       {{"Test", {"CMD-SHELL", "test -f healthy"}},
        {"Interval", 200'000'000},
        {"Timeout", 2'000'000'000},
        {"Retries", 2}}}}.dump();
  return module;
}

class ReconcilerTest : public AgentFixture {
 protected:
  void SetUp() override {
    StartServices(
        "[agent]\nreconcile_interval_seconds = 0.2\nrestart_initial_delay_seconds = 0.2\n"
        "restart_max_delay_seconds = 0.8\n");
    twins_ = store::v1::TwinStore::NewStub(store_.Channel());
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

  // `systemModules.edgeHub` of the reported properties.
  Json ReportedEdgeHub() {
    Json hub = Reported()["systemModules"]["edgeHub"];
    return hub.is_object() ? hub : Json::object();
  }

  // StartModule, StopModule or RestartModule.
  grpc::Status Command(const std::string& command, const std::string& name,
                       v1::Module* module = nullptr) {
    v1::Module ignored;
    v1::Module* out = module != nullptr ? module : &ignored;
    if (command == "start") {
      v1::StartModuleRequest request;
      request.set_name(name);
      return agent_stub_->StartModule(Rpc().get(), request, out);
    }
    if (command == "stop") {
      v1::StopModuleRequest request;
      request.set_name(name);
      return agent_stub_->StopModule(Rpc().get(), request, out);
    }
    v1::RestartModuleRequest request;
    request.set_name(name);
    return agent_stub_->RestartModule(Rpc().get(), request, out);
  }

  std::filesystem::path StateDir(const std::string& name) {
    return home_.path() / "data/modules" / name;
  }

  std::unique_ptr<store::v1::TwinStore::Stub> twins_;
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
  Json invalid = AgentDesiredOf({{"steady", ShellModule(kForever, "sometimes")}});
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

// --- Health checks
// ---------------------------------------------------------------------------------

constexpr char kHealthyForever[] = "touch healthy; echo started; while true; do sleep 0.2; done";

TEST_F(ReconcilerTest, AModuleWhoseHealthCheckStartsFailingIsRestarted) {
  Apply({{"probed", HealthCheckedModule(kHealthyForever, "on-unhealthy")}});
  ASSERT_TRUE(WaitUntil([&] {
    return Modules()["probed"].health() == v1::MODULE_HEALTH_HEALTHY &&
           ReportedModule("probed").value("statusDescription", "") == "running (healthy)";
  })) << Reported().dump(2);
  const int64_t pid = Modules()["probed"].pid();

  // The check fails from now on; the module creates the file again when it is restarted.
  std::filesystem::remove(StateDir("probed") / "healthy");
  ASSERT_TRUE(WaitUntil([&] {
    const v1::Module module = Modules()["probed"];
    return module.state() == v1::MODULE_STATE_RUNNING && module.pid() != pid &&
           module.health() == v1::MODULE_HEALTH_HEALTHY &&
           ReportedModule("probed").value("restartCount", 0) == 1;
  })) << Reported().dump(2);
  EXPECT_NE(kill(static_cast<pid_t>(pid), 0), 0) << "the unhealthy run still runs";
  EXPECT_THAT(agent_.Log(), ::testing::HasSubstr(
                                "module probed: stopped for being unhealthy: 2 consecutive health "
                                "checks failed; the last: exit 1"));
}

TEST_F(ReconcilerTest, AnUnhealthyModuleUnderOnFailureIsReportedAndLeftRunning) {
  Apply({{"sickly", HealthCheckedModule(kHealthyForever, "on-failure")}});
  ASSERT_TRUE(WaitUntil([&] { return Modules()["sickly"].health() == v1::MODULE_HEALTH_HEALTHY; }));
  const int64_t pid = Modules()["sickly"].pid();
  std::filesystem::remove(StateDir("sickly") / "healthy");

  ASSERT_TRUE(WaitUntil([&] { return RuntimeStatus("sickly") == "unhealthy"; }))
      << Reported().dump(2);
  EXPECT_EQ(ReportedModule("sickly")["statusDescription"],
            "unhealthy: 2 consecutive health checks failed; the last: exit 1");
  const v1::Module module = Modules()["sickly"];
  EXPECT_EQ(module.health(), v1::MODULE_HEALTH_UNHEALTHY);
  EXPECT_EQ(module.health_description(),
            "unhealthy: 2 consecutive health checks failed; the last: exit 1");
  EXPECT_EQ(module.pid(), pid);
  EXPECT_EQ(ReportedModule("sickly")["restartCount"], 0);

  // Healthy again once the check passes.
  std::ofstream(StateDir("sickly") / "healthy") << "";
  EXPECT_TRUE(WaitUntil([&] { return RuntimeStatus("sickly") == "running"; }))
      << Reported().dump(2);
}

// --- edgeHub: edge-hub, edge-router and edge-store
// ----------------------------------------------------------------

TEST_F(ReconcilerTest, EdgeHubIsUnhealthyUntilHubRouterAndStoreAllServe) {
  Apply({{"m", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] {
    return ReportedEdgeHub().value("runtimeStatus", "") == "unhealthy";
  })) << Reported().dump(2);
  std::string description = ReportedEdgeHub().value("statusDescription", "");
  EXPECT_THAT(description, ::testing::StartsWith("edge-hub is down ("));
  EXPECT_THAT(description, ::testing::HasSubstr("; edge-router is down ("));
  EXPECT_THAT(description, ::testing::Not(::testing::HasSubstr("edge-store")));

  ServiceProcess router("router", home_.path());
  ASSERT_TRUE(router.Start().ok()) << router.Log();
  ASSERT_TRUE(WaitUntil([&] {
    const std::string now = ReportedEdgeHub().value("statusDescription", "");
    return now.find("edge-router") == std::string::npos && !now.empty();
  })) << Reported().dump(2);
  EXPECT_THAT(ReportedEdgeHub().value("statusDescription", ""),
              ::testing::StartsWith("edge-hub is down ("));

  // edge-hub needs a broker and certificates; its health endpoint is played by the test.
  absl::StatusOr<ListenAddress> hub_address = ParseListen("unix", home_.path(), "hub");
  ASSERT_TRUE(hub_address.ok()) << hub_address.status();
  ServiceRunner hub("hub", *hub_address, absl::ZeroDuration());
  ASSERT_TRUE(hub.Start({}).ok());
  ASSERT_TRUE(WaitUntil([&] { return ReportedEdgeHub().value("runtimeStatus", "") == "running"; }))
      << Reported().dump(2);
  EXPECT_EQ(ReportedEdgeHub()["statusDescription"], "");

  store_.Kill();  // the reconciler cannot report while the store is down: only the log says it
  ASSERT_TRUE(WaitUntil([&] { return agent_.Log().find("edge-store at ") != std::string::npos; }));
  EXPECT_THAT(agent_.Log(), ::testing::HasSubstr("is not serving"));
  hub.Shutdown();
}

// --- StartModule, StopModule, RestartModule
// ------------------------------------------------------------------------

TEST_F(ReconcilerTest, AStoppedModuleStaysStoppedUntilStarted) {
  Apply({{"held", ShellModule(kForever, "always")}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"held"}); }));
  const int64_t pid = Modules()["held"].pid();

  v1::Module stopped;
  grpc::Status status = Command("stop", "held", &stopped);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stopped.state(), v1::MODULE_STATE_EXITED);
  EXPECT_TRUE(stopped.held_stopped());
  EXPECT_NE(kill(static_cast<pid_t>(pid), 0), 0);
  ASSERT_TRUE(WaitUntil([&] { return RuntimeStatus("held") == "stopped"; })) << Reported().dump(2);
  EXPECT_EQ(ReportedModule("held")["statusDescription"],
            "stopped by StopModule (edgectl stop); stays stopped until StartModule, RestartModule "
            "or the next deployment");
  absl::SleepFor(absl::Seconds(1));  // passes and restart delays (0.2 s) go by: `always` waits
  EXPECT_EQ(Modules()["held"].state(), v1::MODULE_STATE_EXITED);
  EXPECT_EQ(ReportedModule("held")["restartCount"], 0);

  v1::Module started;
  status = Command("start", "held", &started);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(started.state(), v1::MODULE_STATE_RUNNING);
  EXPECT_FALSE(started.held_stopped());
  ASSERT_TRUE(WaitUntil([&] { return RuntimeStatus("held") == "running"; })) << Reported().dump(2);
  // Starting a running module changes nothing.
  v1::Module again;
  ASSERT_TRUE(Command("start", "held", &again).ok());
  EXPECT_EQ(again.pid(), started.pid());
}

TEST_F(ReconcilerTest, RestartRunsTheModuleAgain) {
  Apply({{"again", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"again"}); }));
  const int64_t pid = Modules()["again"].pid();
  v1::Module restarted;
  grpc::Status status = Command("restart", "again", &restarted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(restarted.state(), v1::MODULE_STATE_RUNNING);
  EXPECT_NE(restarted.pid(), pid);
  EXPECT_NE(kill(static_cast<pid_t>(pid), 0), 0);
}

TEST_F(ReconcilerTest, ANewDeploymentEndsAStop) {
  Apply({{"held", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"held"}); }));
  ASSERT_TRUE(Command("stop", "held").ok());
  Apply({{"held", ShellModule(kForever)}});  // the same modules, a new desired version
  EXPECT_TRUE(WaitUntil([&] { return Running({"held"}); }));
}

TEST_F(ReconcilerTest, ModuleCommandErrors) {
  Json stopped = ShellModule(kForever);
  stopped["status"] = "stopped";
  Apply({{"off", stopped}});
  ASSERT_TRUE(WaitUntil([&] { return Modules().count("off") > 0; }));

  for (const std::string command : {"start", "stop", "restart"}) {
    grpc::Status status = Command(command, "nobody");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << command;
    EXPECT_EQ(status.error_message(), "no module \"nobody\"") << command;
    status = Command(command, "");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << command;
    EXPECT_EQ(status.error_message(), "name: is required") << command;
    status = Command(command, "a/b");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << command;
    EXPECT_THAT(status.error_message(), ::testing::StartsWith("name: ")) << command;
  }
  for (const std::string command : {"start", "restart"}) {
    grpc::Status status = Command(command, "off");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << command;
    EXPECT_EQ(status.error_message(),
              "module \"off\" is desired stopped by the deployment; deploy it with \"status\": "
              "\"running\"")
        << command;
  }
  EXPECT_EQ(Modules()["off"].state(), v1::MODULE_STATE_CREATED);
}

// --- WatchModules
// ----------------------------------------------------------------------------------

TEST_F(ReconcilerTest, WatchModulesSeesAModuleGoFromRunningToStopped) {
  Apply({{"watched", ShellModule(kForever)}});
  ASSERT_TRUE(WaitUntil([&] { return Running({"watched"}); }));

  std::unique_ptr<grpc::ClientContext> watch = Rpc();
  auto reader = agent_stub_->WatchModules(watch.get(), v1::WatchModulesRequest());
  v1::WatchModulesResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_TRUE(response.snapshot());
  // The table is the one the reconciler last published: the module running, at the latest in the
  // change after the pass that started it.
  bool running = false;
  do {
    for (const v1::Module& module : response.modules()) {
      running = module.name() == "watched" && module.state() == v1::MODULE_STATE_RUNNING;
    }
  } while (!running && reader->Read(&response));
  ASSERT_TRUE(running);

  ASSERT_TRUE(Command("stop", "watched").ok());
  bool stopped = false;
  while (!stopped && reader->Read(&response)) {
    EXPECT_FALSE(response.snapshot());
    for (const v1::Module& module : response.modules()) {
      if (module.name() == "watched" && module.state() == v1::MODULE_STATE_EXITED) {
        stopped = true;
        EXPECT_TRUE(module.held_stopped());
      }
    }
  }
  EXPECT_TRUE(stopped);

  // A removed module is reported by name.
  Apply({});
  bool removed = false;
  while (!removed && reader->Read(&response)) {
    for (const std::string& name : response.removed()) removed = removed || name == "watched";
  }
  EXPECT_TRUE(removed);
  watch->TryCancel();
  (void)reader->Finish();
}

TEST_F(ReconcilerTest, WatchModulesEndsWhenTheAgentStops) {
  std::unique_ptr<grpc::ClientContext> watch = Rpc();
  auto reader = agent_stub_->WatchModules(watch.get(), v1::WatchModulesRequest());
  v1::WatchModulesResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_TRUE(response.snapshot());
  const absl::Time stopping = absl::Now();
  agent_.Stop();
  while (reader->Read(&response)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_LT(absl::Now() - stopping, absl::Seconds(4)) << "the stream held the shutdown";
}

}  // namespace
}  // namespace edge::agent
