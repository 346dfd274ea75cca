// edge-agent with the real edge-store, over real gRPC on unix sockets in a temp EDGE_HOME:
// ApplyDeployment writes both desired documents (and module twins) with compare-and-set, nothing
// for an invalid or conflicting deployment; GetDeployment; ListModules/GetModule/GetLogs (tail,
// since, follow) and Stop/Start/RestartModule over modules a ProcessRuntime of the test runs in
// the agent's modules_dir (no deployment: the reconciler leaves them alone); the store down.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "edge/agent/v1/agent.grpc.pb.h"
#include "edge/store/v1/identities.grpc.pb.h"
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

namespace edge::agent {
namespace {

using ::edge::testing::ReadFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kAgentTwin[] = "edge-device/$edgeAgent";
constexpr char kHubTwin[] = "edge-device/$edgeHub";

// examples/deployments/shell-modules.json, parsed, for tests to change.
Json ShellModulesDeployment() {
  Json deployment =
      Json::parse(ReadFile(EDGE_EXAMPLES_DIR "/deployments/shell-modules.json"), nullptr, false);
  EXPECT_TRUE(deployment.is_object());
  return deployment;
}

Json& AgentDesired(Json& deployment) {
  return deployment["modulesContent"]["$edgeAgent"]["properties.desired"];
}

class AgentServiceTest : public AgentFixture {
 protected:
  void SetUp() override {
    StartServices();
    twins_ = store::v1::TwinStore::NewStub(store_.Channel());
  }

  grpc::Status Apply(const std::string& json, v1::ApplyDeploymentResponse* response,
                     std::optional<int64_t> expected_agent = std::nullopt,
                     std::optional<int64_t> expected_hub = std::nullopt) {
    v1::ApplyDeploymentRequest request;
    request.set_deployment_json(json);
    if (expected_agent.has_value()) request.set_expected_agent_version(*expected_agent);
    if (expected_hub.has_value()) request.set_expected_hub_version(*expected_hub);
    return agent_stub_->ApplyDeployment(Rpc().get(), request, response);
  }

  store::v1::Twin Twin(const std::string& id) {
    store::v1::GetTwinRequest request;
    request.set_id(id);
    store::v1::Twin twin;
    grpc::Status status = twins_->GetTwin(Rpc().get(), request, &twin);
    EXPECT_TRUE(status.ok()) << id << ": " << status.error_message();
    return twin;
  }

  Json Desired(const std::string& id) { return Json::parse(Twin(id).desired().json()); }

  void CreateModuleIdentity(const std::string& id) {
    auto identities = store::v1::IdentityRegistry::NewStub(store_.Channel());
    store::v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    store::v1::Identity created;
    grpc::Status status = identities->CreateIdentity(Rpc().get(), request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The identity's managed_by ("" when it does not exist).
  std::string ManagedBy(const std::string& id) {
    auto identities = store::v1::IdentityRegistry::NewStub(store_.Channel());
    store::v1::GetIdentityRequest request;
    request.set_id(id);
    store::v1::Identity identity;
    grpc::Status status = identities->GetIdentity(Rpc().get(), request, &identity);
    return status.ok() ? identity.managed_by() : "";
  }

  // Creates and starts `name` running `/bin/sh -c script` in the agent's modules_dir.
  void RunModule(const std::string& name, const std::string& script) {
    absl::Status created = runtime_.Create({.name = name, .argv = {"/bin/sh", "-c", script}});
    ASSERT_TRUE(created.ok()) << created;
    absl::Status started = runtime_.Start(name);
    ASSERT_TRUE(started.ok()) << started;
  }

  void WaitForState(const std::string& name, ModuleState state) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<ModuleStatus> status = runtime_.Inspect(name);
    while (status.ok() && status->state != state && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
      status = runtime_.Inspect(name);
    }
    ASSERT_TRUE(status.ok() && status->state == state) << name << " did not reach the state";
  }

  grpc::Status GetModule(const std::string& name, v1::Module* module) {
    v1::GetModuleRequest request;
    request.set_name(name);
    return agent_stub_->GetModule(Rpc().get(), request, module);
  }

  // GetLogs as `request` says, every chunk concatenated.
  grpc::Status ReadLogs(v1::GetLogsRequest request, std::string* text) {
    std::unique_ptr<grpc::ClientContext> rpc = Rpc();
    auto reader = agent_stub_->GetLogs(rpc.get(), request);
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) *text += chunk.text();
    return reader->Finish();
  }

  // GetLogs, every chunk concatenated.
  grpc::Status GetLogs(const std::string& name, int tail, std::string* text) {
    v1::GetLogsRequest request;
    request.set_name(name);
    request.set_tail(tail);
    std::unique_ptr<grpc::ClientContext> rpc = Rpc();
    auto reader = agent_stub_->GetLogs(rpc.get(), request);
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) *text += chunk.text();
    return reader->Finish();
  }

  std::unique_ptr<store::v1::TwinStore::Stub> twins_;
};

// --- ApplyDeployment
// ------------------------------------------------------------------------------

TEST_F(AgentServiceTest, ApplyDeploymentWritesBothDesiredDocuments) {
  const int64_t agent_before = Twin(kAgentTwin).desired().version();
  const int64_t hub_before = Twin(kHubTwin).desired().version();
  Json deployment = ShellModulesDeployment();
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(deployment.dump(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_EQ(response.agent_desired_version(), agent_before + 1);
  EXPECT_EQ(response.hub_desired_version(), hub_before + 1);
  EXPECT_EQ(Twin(kAgentTwin).desired().version(), response.agent_desired_version());
  EXPECT_EQ(Twin(kHubTwin).desired().version(), response.hub_desired_version());
  EXPECT_EQ(Desired(kAgentTwin), AgentDesired(deployment));
  EXPECT_EQ(Desired(kHubTwin), deployment["modulesContent"]["$edgeHub"]["properties.desired"]);
  EXPECT_THAT(response.module_twins_written(), ::testing::IsEmpty());
}

TEST_F(AgentServiceTest, AnInvalidDeploymentGetsEveryReasonAndWritesNothing) {
  Json deployment = ShellModulesDeployment();
  AgentDesired(deployment)["modules"]["ticker"]["restartPolicy"] = "sometimes";
  AgentDesired(deployment).erase("runtime");
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(deployment.dump(), &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "$edgeAgent.runtime: is required\n"
            "$edgeAgent.modules.ticker.restartPolicy: \"sometimes\" is not one of never, "
            "on-failure, on-unhealthy, always");
  EXPECT_EQ(Twin(kAgentTwin).desired().version(), 1);
  EXPECT_EQ(Twin(kHubTwin).desired().version(), 1);
}

TEST_F(AgentServiceTest, AnUnsupportedSchemaVersionIsAFailedPrecondition) {
  Json deployment = ShellModulesDeployment();
  AgentDesired(deployment)["schemaVersion"] = "1.2";
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(deployment.dump(), &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "$edgeAgent.schemaVersion: \"1.2\" is not supported; 1.0 and 1.1 are");
  EXPECT_EQ(Twin(kAgentTwin).desired().version(), 1);
  EXPECT_EQ(Twin(kHubTwin).desired().version(), 1);
}

TEST_F(AgentServiceTest, TextThatIsNotJsonIsInvalid) {
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply("{oops", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("deployment: is not JSON"));
}

TEST_F(AgentServiceTest, MatchingExpectedVersionsAreWritten) {
  v1::ApplyDeploymentResponse first;
  ASSERT_TRUE(Apply(ShellModulesDeployment().dump(), &first).ok());
  v1::ApplyDeploymentResponse second;
  grpc::Status status = Apply(ShellModulesDeployment().dump(), &second,
                              first.agent_desired_version(), first.hub_desired_version());
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(second.agent_desired_version(), first.agent_desired_version() + 1);
  EXPECT_EQ(second.hub_desired_version(), first.hub_desired_version() + 1);
}

TEST_F(AgentServiceTest, AStaleExpectedVersionIsAbortedAndWritesNothing) {
  v1::ApplyDeploymentResponse first;
  ASSERT_TRUE(Apply(ShellModulesDeployment().dump(), &first).ok());
  Json changed = ShellModulesDeployment();
  AgentDesired(changed)["modules"].erase("checker");
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(changed.dump(), &response, first.agent_desired_version() - 1,
                              first.hub_desired_version());

  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("edge-device/$edgeAgent: the desired properties are at version ",
                         first.agent_desired_version(), ", not the expected ",
                         first.agent_desired_version() - 1, "; nothing was written"));
  EXPECT_EQ(Twin(kAgentTwin).desired().version(), first.agent_desired_version());
  EXPECT_EQ(Twin(kHubTwin).desired().version(), first.hub_desired_version());
}

TEST_F(AgentServiceTest, AnExpectedVersionBelowOneIsInvalid) {
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(ShellModulesDeployment().dump(), &response, 0);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "expected_agent_version: 0 is not a desired version (they start at 1)");
}

TEST_F(AgentServiceTest, ModuleTwinsOfDeployedModulesAreWrittenCreatingTheirIdentities) {
  CreateModuleIdentity("edge-device/ticker");
  Json deployment = ShellModulesDeployment();
  deployment["modulesContent"]["ticker"] = {{"properties.desired", {{"interval", 5}}}};
  deployment["modulesContent"]["checker"] = {{"properties.desired", {{"strict", true}}}};
  deployment["modulesContent"]["ghost"] = {{"properties.desired", {{"seen", false}}}};
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(deployment.dump(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // checker had no identity: the agent created it, as its reconciler would have; ghost is not a
  // module of the deployment, so nothing makes an identity for it.
  EXPECT_THAT(response.module_twins_written(),
              ElementsAre("edge-device/checker", "edge-device/ticker"));
  EXPECT_THAT(response.module_twins_skipped(), ElementsAre("edge-device/ghost"));
  EXPECT_EQ(Desired("edge-device/ticker"), Json({{"interval", 5}}));
  EXPECT_EQ(Desired("edge-device/checker"), Json({{"strict", true}}));
  EXPECT_EQ(ManagedBy("edge-device/checker"), "edge-agent");
}

// --- GetDeployment
// --------------------------------------------------------------------------------

TEST_F(AgentServiceTest, GetDeploymentReturnsBothDocumentsAndTheLastStatus) {
  v1::ApplyDeploymentResponse applied;
  ASSERT_TRUE(Apply(ShellModulesDeployment().dump(), &applied).ok());

  // The agent's reconciler applies the deployment and reports its status for that version.
  v1::GetDeploymentResponse response;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    response.Clear();
    grpc::Status status =
        agent_stub_->GetDeployment(Rpc().get(), v1::GetDeploymentRequest(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (response.last_desired_status().desired_version() == applied.agent_desired_version()) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  Json deployment = ShellModulesDeployment();
  EXPECT_EQ(Json::parse(response.agent_desired().json()), AgentDesired(deployment));
  EXPECT_EQ(response.agent_desired().version(), applied.agent_desired_version());
  EXPECT_EQ(Json::parse(response.hub_desired().json()),
            deployment["modulesContent"]["$edgeHub"]["properties.desired"]);
  EXPECT_EQ(response.hub_desired().version(), applied.hub_desired_version());
  ASSERT_TRUE(response.has_last_desired_status());
  EXPECT_EQ(response.last_desired_status().code(), 200);
  EXPECT_EQ(response.last_desired_status().desired_version(), applied.agent_desired_version());
}

TEST_F(AgentServiceTest, GetDeploymentHasNoStatusBeforeTheAgentReportedOne) {
  v1::GetDeploymentResponse response;
  grpc::Status status =
      agent_stub_->GetDeployment(Rpc().get(), v1::GetDeploymentRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.agent_desired().version(), 1);
  // The reconciler reports 417 (no deployment) for the empty document soon after it starts.
  if (response.has_last_desired_status()) {
    EXPECT_EQ(response.last_desired_status().code(), 417);
  }
}

// --- Modules
// ---------------------------------------------------------------------------------------

TEST_F(AgentServiceTest, ListsAndInspectsTheRuntimesModules) {
  RunModule("sleeper", "echo up; exec sleep 30");
  RunModule("quitter", "exit 3");
  WaitForState("quitter", ModuleState::kExited);
  ASSERT_TRUE(runtime_.Create({.name = "idle", .argv = {"/bin/true"}}).ok());

  v1::ListModulesResponse list;
  grpc::Status status = agent_stub_->ListModules(Rpc().get(), v1::ListModulesRequest(), &list);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(list.modules_size(), 3);
  EXPECT_EQ(list.modules(0).name(), "idle");
  EXPECT_EQ(list.modules(0).state(), v1::MODULE_STATE_CREATED);
  EXPECT_EQ(list.modules(1).name(), "quitter");
  EXPECT_EQ(list.modules(2).name(), "sleeper");

  v1::Module sleeper;
  ASSERT_TRUE(GetModule("sleeper", &sleeper).ok());
  EXPECT_EQ(sleeper.state(), v1::MODULE_STATE_RUNNING);
  EXPECT_GT(sleeper.pid(), 0);
  EXPECT_GT(sleeper.started_unix_ms(), absl::ToUnixMillis(absl::Now() - absl::Minutes(1)));
  EXPECT_EQ(sleeper.finished_unix_ms(), 0);
  EXPECT_THAT(sleeper.argv(), ElementsAre("/bin/sh", "-c", "echo up; exec sleep 30"));

  v1::Module quitter;
  ASSERT_TRUE(GetModule("quitter", &quitter).ok());
  EXPECT_EQ(quitter.state(), v1::MODULE_STATE_EXITED);
  EXPECT_EQ(quitter.exit_code(), 3);
  EXPECT_EQ(quitter.description(), "exited with 3");
  EXPECT_GE(quitter.finished_unix_ms(), quitter.started_unix_ms());
  EXPECT_EQ(quitter.pid(), 0);
}

TEST_F(AgentServiceTest, GetLogsReturnsTheTailOfTheOutput) {
  RunModule("talker", "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2");
  WaitForState("talker", ModuleState::kExited);

  std::string all;
  ASSERT_TRUE(GetLogs("talker", 0, &all).ok());
  EXPECT_EQ(all, "line 1\nline 2\nline 3\nline 4\nline 5\noops\n");
  std::string tail;
  ASSERT_TRUE(GetLogs("talker", 2, &tail).ok());
  EXPECT_EQ(tail, "line 5\noops\n");
}

TEST_F(AgentServiceTest, AnUnknownModuleIsNotFound) {
  v1::Module module;
  grpc::Status status = GetModule("nobody", &module);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no module \"nobody\"");
  std::string text;
  status = GetLogs("nobody", 0, &text);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no module \"nobody\"");
}

TEST_F(AgentServiceTest, BadModuleArgumentsAreInvalid) {
  v1::Module module;
  grpc::Status status = GetModule("", &module);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "name: is required");
  status = GetModule("a/b", &module);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("name: "));
  std::string text;
  status = GetLogs("", 0, &text);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = GetLogs("talker", -1, &text);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "tail: -1 is negative (0 means every line kept)");
}

TEST_F(AgentServiceTest, GetLogsSinceReturnsOnlyLinesWrittenSinceThen) {
  RunModule("clock", "echo early; sleep 1.5; echo late");
  std::string text;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (text.find("early") == std::string::npos && absl::Now() < deadline) {
    text.clear();
    ASSERT_TRUE(GetLogs("clock", 0, &text).ok());
  }
  const absl::Time between = absl::Now() + absl::Milliseconds(200);
  WaitForState("clock", ModuleState::kExited);

  v1::GetLogsRequest request;
  request.set_name("clock");
  request.set_since_unix_ms(absl::ToUnixMillis(between));
  std::string since;
  ASSERT_TRUE(ReadLogs(request, &since).ok());
  EXPECT_EQ(since, "late\n");
  request.set_since_unix_ms(absl::ToUnixMillis(absl::Now() + absl::Hours(1)));
  std::string none;
  ASSERT_TRUE(ReadLogs(request, &none).ok());
  EXPECT_EQ(none, "");
}

TEST_F(AgentServiceTest, GetLogsFollowStreamsNewLinesUntilTheModuleIsRemoved) {
  RunModule("ticker", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done");
  v1::GetLogsRequest request;
  request.set_name("ticker");
  request.set_tail(1);
  request.set_follow(true);
  std::unique_ptr<grpc::ClientContext> rpc = Rpc();
  auto reader = agent_stub_->GetLogs(rpc.get(), request);
  std::string text;
  v1::LogChunk chunk;
  while (text.find("tick 20\n") == std::string::npos && reader->Read(&chunk)) text += chunk.text();
  ASSERT_THAT(text, HasSubstr("tick 20\n"));
  ASSERT_TRUE(runtime_.Remove("ticker").ok());
  while (reader->Read(&chunk)) text += chunk.text();
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Every line once, in order, from the one `tail` gave.
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u);
  int first = 0;
  ASSERT_EQ(std::sscanf(lines[0].c_str(), "tick %d", &first), 1) << lines[0];
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], absl::StrCat("tick ", first + static_cast<int>(i))) << text;
  }
}

TEST_F(AgentServiceTest, GetLogsWithANegativeSinceIsInvalid) {
  RunModule("quiet", "exit 0");
  v1::GetLogsRequest request;
  request.set_name("quiet");
  request.set_since_unix_ms(-1);
  std::string text;
  grpc::Status status = ReadLogs(request, &text);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "since_unix_ms: -1 is negative (0 means from the start)");
}

// Without a deployment the agent's reconciler leaves modules alone, but carries out commands.
TEST_F(AgentServiceTest, StopStartAndRestartActOnTheRuntimesModules) {
  RunModule("sleeper", "exec sleep 30");
  v1::Module module;
  v1::StopModuleRequest stop;
  stop.set_name("sleeper");
  grpc::Status status = agent_stub_->StopModule(Rpc().get(), stop, &module);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(module.state(), v1::MODULE_STATE_EXITED);
  EXPECT_EQ(module.exit_code(), 143);  // SIGTERM
  EXPECT_TRUE(module.held_stopped());
  v1::Module listed;
  ASSERT_TRUE(GetModule("sleeper", &listed).ok());
  EXPECT_TRUE(listed.held_stopped());

  v1::StartModuleRequest start;
  start.set_name("sleeper");
  status = agent_stub_->StartModule(Rpc().get(), start, &module);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(module.state(), v1::MODULE_STATE_RUNNING);
  EXPECT_FALSE(module.held_stopped());

  const int64_t pid = module.pid();
  v1::RestartModuleRequest restart;
  restart.set_name("sleeper");
  status = agent_stub_->RestartModule(Rpc().get(), restart, &module);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(module.state(), v1::MODULE_STATE_RUNNING);
  EXPECT_NE(module.pid(), pid);
}

// --- The store down
// -------------------------------------------------------------------------------

TEST_F(AgentServiceTest, TheStoreDownIsUnavailable) {
  store_.Kill();
  v1::ApplyDeploymentResponse response;
  grpc::Status status = Apply(ShellModulesDeployment().dump(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("edge-store is unavailable"));

  v1::GetDeploymentResponse deployment;
  status = agent_stub_->GetDeployment(Rpc().get(), v1::GetDeploymentRequest(), &deployment);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("edge-store is unavailable"));

  // Modules do not need the store.
  v1::ListModulesResponse list;
  EXPECT_TRUE(agent_stub_->ListModules(Rpc().get(), v1::ListModulesRequest(), &list).ok());
}

}  // namespace
}  // namespace edge::agent
