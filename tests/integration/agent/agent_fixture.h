// AgentFixture: the real edge-store and edge-agent on a temporary EDGE_HOME, for the agent's
// integration tests (and edgectl's agent commands), with deployments of `/bin/sh` process modules.
// TearDown prints both logs when the test failed, stops the agent first (its reconciler would start
// the modules again) and then every module it ran, so that nothing outlives a test.
//
// Example:
//   class ReconcilerTest : public AgentFixture {
//     void SetUp() override { StartServices("[agent]\nreconcile_interval_seconds = 0.2\n"); }
//   };
//   TEST_F(ReconcilerTest, Runs) {
//     v1::ApplyDeploymentRequest request;
//     request.set_deployment_json(Deployment({{"m", ShellModule("sleep 60")}}).dump());
//     v1::ApplyDeploymentResponse response;
//     ASSERT_TRUE(agent_stub_->ApplyDeployment(Rpc().get(), request, &response).ok());
//   }
#ifndef EDGE_TESTS_INTEGRATION_AGENT_AGENT_FIXTURE_H_
#define EDGE_TESTS_INTEGRATION_AGENT_AGENT_FIXTURE_H_

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "edge/agent/v1/agent.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/runtime/process_runtime.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::agent {

// A context with the 20 s deadline every test call gets.
inline std::unique_ptr<grpc::ClientContext> Rpc() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

// A `process` module running `/bin/sh -c script`.
inline nlohmann::json ShellModule(const std::string& script,
                                  const std::string& restart_policy = "always",
                                  int startup_order = 1) {
  return {
      {"version", "1.0"},
      {"type", "process"},
      {"status", "running"},
      {"restartPolicy", restart_policy},
      {"startupOrder", startup_order},
      {"settings",
       {{"image", "/bin/sh"}, {"createOptions", nlohmann::json{{"Cmd", {"-c", script}}}.dump()}}}};
}

// `$edgeAgent` desired properties (schema 1.1, the two system modules) running `modules`.
inline nlohmann::json AgentDesiredOf(const nlohmann::json& modules) {
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

// A whole deployment: AgentDesiredOf(modules) and `$edgeHub` with one route to `$upstream`.
inline nlohmann::json Deployment(const nlohmann::json& modules) {
  return {
      {"modulesContent",
       {{"$edgeAgent", {{"properties.desired", AgentDesiredOf(modules)}}},
        {"$edgeHub",
         {{"properties.desired",
           {{"schemaVersion", "1.1"}, {"routes", {{"r", "FROM /messages/* INTO $upstream"}}}}}}}}}};
}

class AgentFixture : public ::testing::Test {
 protected:
  // Writes `config` as config.toml (none when empty), then starts edge-store and edge-agent.
  void StartServices(const std::string& config = "") {
    if (!config.empty()) std::ofstream(home_.path() / "config.toml") << config;
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    StartAgent();
  }

  // Starts (or starts again) edge-agent and makes agent_stub_ for it.
  void StartAgent() {
    absl::Status started = agent_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << agent_.Log();
    agent_stub_ = v1::Agent::NewStub(agent_.Channel());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::printf("agent log:\n%s\nstore log:\n%s\n", agent_.Log().c_str(), store_.Log().c_str());
    }
    agent_.Stop();  // before the modules, or its reconciler would start them again
    if (absl::StatusOr<std::vector<ModuleStatus>> all = runtime_.List(); all.ok()) {
      for (const ModuleStatus& m : *all) runtime_.Stop(m.config.name).IgnoreError();
    }
  }

  testing::TempDir home_;
  testing::ServiceProcess store_{"store", home_.path()};
  testing::ServiceProcess agent_{"agent", home_.path()};
  std::unique_ptr<v1::Agent::Stub> agent_stub_;
  // The agent's default modules_dir, as its reconciler uses it: to inspect and clean up modules.
  ProcessRuntime runtime_{{.modules_dir = home_.path() / "data/modules",
                           .monitor = testing::BinDir() / "edge-module-monitor"}};
};

}  // namespace edge::agent

#endif  // EDGE_TESTS_INTEGRATION_AGENT_AGENT_FIXTURE_H_
