// Module identities and environment end to end (services/agent/README.md, "Module identities and
// environment"), with the real edge-store and edge-agent and /bin/sh modules that print their
// environment: a deployed module gets its identity (managed_by edge-agent) and every variable,
// its SharedAccessKey the identity's primary key; redeploying does not restart it; a rotated key
// recreates it; removing it deletes its identity; an identity that was there before (not managed
// by the agent) is used and never deleted, an X.509 one leaves the module waiting (reported); the
// store not answering when the module is to be created makes it wait until the store is back.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/sas.h"
#include "edge/agent/v1/agent.grpc.pb.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/module_environment.h"
#include "services/agent/runtime/process_runtime.h"
#include "tests/integration/agent/agent_fixture.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace edge::agent {
namespace {

using ::edge::testing::WaitUntil;
using ::testing::HasSubstr;
using Json = nlohmann::json;

// Prints its environment, then runs until stopped.
constexpr char kPrintEnv[] = "env | sort; echo env-printed; while true; do sleep 0.2; done";
constexpr char kUserKey[] = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy0wMTIzNDU2Nzg=";

// A `process` module printing its environment, with `env` of its own.
Json PrintEnvModule(const Json& env = Json::object()) {
  Json module = ShellModule(kPrintEnv);
  module["env"] = env;
  return module;
}

class ModuleIdentityTest : public AgentFixture {
 protected:
  void SetUp() override {
    StartServices(
        "[device]\nhostname = \"gw.test\"\n"
        "[agent]\nreconcile_interval_seconds = 0.2\nrestart_initial_delay_seconds = 0.2\n"
        "restart_max_delay_seconds = 0.8\n");
    identities_ = store::v1::IdentityRegistry::NewStub(store_.Channel());
  }

  void Apply(const Json& modules) {
    v1::ApplyDeploymentRequest request;
    request.set_deployment_json(Deployment(modules).dump());
    v1::ApplyDeploymentResponse response;
    grpc::Status status = agent_stub_->ApplyDeployment(Rpc().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The identity `edge-device/<module>`; NOT_FOUND when there is none.
  grpc::Status GetIdentity(const std::string& module, store::v1::Identity* identity) {
    store::v1::GetIdentityRequest request;
    request.set_id("edge-device/" + module);
    return identities_->GetIdentity(Rpc().get(), request, identity);
  }

  bool IdentityExists(const std::string& module) {
    store::v1::Identity identity;
    return GetIdentity(module, &identity).ok();
  }

  // The environment the module's current run printed; empty until it has printed all of it.
  std::map<std::string, std::string> PrintedEnv(const std::string& module) {
    std::map<std::string, std::string> env;
    absl::StatusOr<LogText> logs = runtime_.ReadLogs(module, {});
    if (!logs.ok()) return env;
    // The log keeps earlier runs: take the last complete printout.
    const size_t end = logs->text.rfind("env-printed\n");
    if (end == std::string::npos) return env;
    const size_t begin = end == 0 ? std::string::npos : logs->text.rfind("env-printed\n", end - 1);
    const size_t from = begin == std::string::npos ? 0 : begin + sizeof("env-printed\n") - 1;
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(logs->text).substr(from, end - from), '\n')) {
      const size_t equals = line.find('=');
      if (equals != absl::string_view::npos) {
        env[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
      }
    }
    return env;
  }

  int64_t Pid(const std::string& module) {
    absl::StatusOr<ModuleStatus> status = runtime_.Inspect(module);
    return status.ok() && status->state == ModuleState::kRunning ? status->pid : 0;
  }

  // Waits until `module` runs and printed an environment whose key is `key` (any when empty).
  std::map<std::string, std::string> WaitForEnv(const std::string& module,
                                                const std::string& key = "") {
    std::map<std::string, std::string> env;
    WaitUntil([&] {
      env = PrintedEnv(module);
      return Pid(module) != 0 && env.count(kEdgeHubConnectionString) > 0 &&
             (key.empty() || absl::EndsWith(env[kEdgeHubConnectionString], key));
    });
    return env;
  }

  std::unique_ptr<store::v1::IdentityRegistry::Stub> identities_;
};

TEST_F(ModuleIdentityTest, ADeployedModuleGetsItsIdentityAndEveryVariable) {
  Apply({{"sensor", PrintEnvModule({{"FOO", {{"value", "bar"}}},
                                    {"IOTEDGE_MODULEID", {{"value", "spoofed"}}}})}});
  std::map<std::string, std::string> env = WaitForEnv("sensor");
  ASSERT_EQ(env.count(kEdgeHubConnectionString), 1u) << agent_.Log();

  store::v1::Identity identity;
  ASSERT_TRUE(GetIdentity("sensor", &identity).ok());
  EXPECT_EQ(identity.managed_by(), "edge-agent");
  EXPECT_EQ(identity.auth_type(), store::v1::AUTH_TYPE_SAS);
  EXPECT_TRUE(identity.enabled());

  absl::StatusOr<std::map<std::string, std::string>> connection =
      ParseConnectionString(env[kEdgeHubConnectionString]);
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_EQ((*connection)["HostName"], "gw.test");
  EXPECT_EQ((*connection)["GatewayHostName"], "gw.test");
  EXPECT_EQ((*connection)["DeviceId"], "edge-device");
  EXPECT_EQ((*connection)["ModuleId"], "sensor");
  EXPECT_EQ((*connection)["SharedAccessKey"], identity.primary_key());
  EXPECT_EQ(connection->size(), 5u);
  EXPECT_EQ(env[kEdgeModuleCaCertificateFile], (home_.path() / "certs/ca.pem").string());
  EXPECT_EQ(env[kIotEdgeDeviceId], "edge-device");
  EXPECT_EQ(env[kIotEdgeModuleId], "sensor");  // the deployment's "spoofed" is not taken
  EXPECT_EQ(env[kIotEdgeIotHubHostname], "gw.test");
  EXPECT_EQ(env[kIotEdgeGatewayHostname], "gw.test");
  EXPECT_EQ(env[kIotEdgeAuthScheme], "sasToken");
  EXPECT_EQ(env["FOO"], "bar");
}

TEST_F(ModuleIdentityTest, RedeployingTheSameModuleDoesNotRestartIt) {
  Apply({{"steady", PrintEnvModule()}});
  WaitForEnv("steady");
  const int64_t pid = Pid("steady");
  ASSERT_NE(pid, 0);
  Apply({{"steady", PrintEnvModule()}});  // a new desired version, the same module
  absl::SleepFor(absl::Seconds(1));       // several reconcile passes
  EXPECT_EQ(Pid("steady"), pid);
  EXPECT_THAT(agent_.Log(), ::testing::Not(HasSubstr("module steady: recreate")));
}

TEST_F(ModuleIdentityTest, ARotatedKeyRecreatesTheModuleWithIt) {
  Apply({{"rotating", PrintEnvModule()}});
  WaitForEnv("rotating");
  const int64_t pid = Pid("rotating");

  store::v1::UpdateIdentityRequest request;
  request.set_id("edge-device/rotating");
  request.set_regenerate_primary_key(true);
  store::v1::Identity rotated;
  ASSERT_TRUE(identities_->UpdateIdentity(Rpc().get(), request, &rotated).ok());

  std::map<std::string, std::string> env = WaitForEnv("rotating", rotated.primary_key());
  EXPECT_THAT(env[kEdgeHubConnectionString],
              ::testing::EndsWith("SharedAccessKey=" + rotated.primary_key()));
  EXPECT_NE(Pid("rotating"), pid);
  EXPECT_TRUE(WaitUntil([&] {  // the log is written a moment after the action
    return agent_.Log().find("module rotating: recreate") != std::string::npos;
  }));
}

TEST_F(ModuleIdentityTest, RemovingAModuleDeletesItsIdentity) {
  Apply({{"stays", PrintEnvModule()}, {"goes", PrintEnvModule()}});
  WaitForEnv("stays");
  WaitForEnv("goes");
  ASSERT_TRUE(IdentityExists("goes"));

  Apply({{"stays", PrintEnvModule()}});
  ASSERT_TRUE(WaitUntil([&] { return !IdentityExists("goes"); })) << agent_.Log();
  EXPECT_TRUE(IdentityExists("stays"));
  EXPECT_FALSE(runtime_.Inspect("goes").ok());
  EXPECT_TRUE(WaitUntil([&] {
    return agent_.Log().find("module goes: identity edge-device/goes deleted") != std::string::npos;
  }));
}

TEST_F(ModuleIdentityTest, AnIdentityMadeForTheNextDeploymentOutlivesPassesOfThePrevious) {
  Apply({{"stays", PrintEnvModule()}});
  WaitForEnv("stays");
  // What ApplyDeployment does for a new module just before it writes `$edgeAgent`.
  store::v1::CreateIdentityRequest create;
  create.mutable_identity()->set_id("edge-device/next");
  create.mutable_identity()->set_managed_by("edge-agent");
  store::v1::Identity created;
  ASSERT_TRUE(identities_->CreateIdentity(Rpc().get(), create, &created).ok());

  absl::SleepFor(absl::Seconds(1));  // several reconcile passes of the deployment without it
  EXPECT_TRUE(IdentityExists("next")) << agent_.Log();
  Apply({{"stays", PrintEnvModule()}, {"next", PrintEnvModule()}});
  std::map<std::string, std::string> env = WaitForEnv("next");
  EXPECT_THAT(env[kEdgeHubConnectionString],
              ::testing::EndsWith(std::string("SharedAccessKey=") + created.primary_key()));
}

TEST_F(ModuleIdentityTest, AnIdentityThatWasThereIsUsedAndNeverDeleted) {
  store::v1::CreateIdentityRequest create;
  create.mutable_identity()->set_id("edge-device/by-hand");
  create.mutable_identity()->set_primary_key(kUserKey);
  create.mutable_identity()->set_managed_by("operator");
  store::v1::Identity created;
  ASSERT_TRUE(identities_->CreateIdentity(Rpc().get(), create, &created).ok());

  Apply({{"by-hand", PrintEnvModule()}});
  std::map<std::string, std::string> env = WaitForEnv("by-hand");
  EXPECT_THAT(env[kEdgeHubConnectionString],
              ::testing::EndsWith(std::string("SharedAccessKey=") + kUserKey));

  Apply(Json::object());
  ASSERT_TRUE(WaitUntil([&] { return !runtime_.Inspect("by-hand").ok(); }));
  absl::SleepFor(absl::Seconds(1));  // several reconcile passes
  store::v1::Identity after;
  ASSERT_TRUE(GetIdentity("by-hand", &after).ok());
  EXPECT_EQ(after.managed_by(), "operator");
  EXPECT_EQ(after.primary_key(), kUserKey);
}

TEST_F(ModuleIdentityTest, AnX509IdentityLeavesTheModuleWaitingAndSaysWhy) {
  store::v1::CreateIdentityRequest create;
  create.mutable_identity()->set_id("edge-device/certified");
  create.mutable_identity()->set_auth_type(store::v1::AUTH_TYPE_X509_CA);
  store::v1::Identity created;
  ASSERT_TRUE(identities_->CreateIdentity(Rpc().get(), create, &created).ok());

  Apply({{"certified", PrintEnvModule()}, {"plain", PrintEnvModule()}});
  WaitForEnv("plain");
  auto twins = store::v1::TwinStore::NewStub(store_.Channel());
  Json module;
  ASSERT_TRUE(WaitUntil([&] {
    store::v1::GetTwinRequest request;
    request.set_id("edge-device/$edgeAgent");
    store::v1::Twin twin;
    if (!twins->GetTwin(Rpc().get(), request, &twin).ok()) return false;
    module = Json::parse(twin.reported().json(), nullptr, false)["modules"]["certified"];
    return module.is_object() && module.contains("statusDescription");
  })) << agent_.Log();
  EXPECT_EQ(module["statusDescription"],
            "waiting for its identity: edge-device/certified has no symmetric key (an X.509 "
            "identity); modules connect with SAS");
  EXPECT_EQ(module["runtimeStatus"], "unknown");
  EXPECT_FALSE(runtime_.Inspect("certified").ok());
}

TEST_F(ModuleIdentityTest, AModuleWaitsForTheStoreToCreateItsIdentity) {
  Apply({{"first", PrintEnvModule()}});
  WaitForEnv("first");

  // The agent is paused while the new deployment is written, so that the change waits on its
  // watch stream; then the store hangs (SIGSTOP: calls time out, as with a store that is down),
  // and only then does the agent learn of the deployment.
  const pid_t agent_pid = agent_.process()->pid();
  const pid_t store_pid = store_.process()->pid();
  struct Resume {
    pid_t pid;
    ~Resume() { kill(pid, SIGCONT); }
  } resume_agent{agent_pid}, resume_store{store_pid};
  ASSERT_EQ(kill(agent_pid, SIGSTOP), 0);
  Json desired = Deployment({{"first", PrintEnvModule()}, {"late", PrintEnvModule()}});
  store::v1::ReplaceDesiredRequest replace;
  replace.set_id("edge-device/$edgeAgent");
  replace.set_json(desired["modulesContent"]["$edgeAgent"]["properties.desired"].dump());
  store::v1::Twin twin;
  auto twins = store::v1::TwinStore::NewStub(store_.Channel());
  ASSERT_TRUE(twins->ReplaceDesired(Rpc().get(), replace, &twin).ok());
  absl::SleepFor(absl::Milliseconds(300));  // the change reaches the agent's socket
  ASSERT_EQ(kill(store_pid, SIGSTOP), 0);
  ASSERT_EQ(kill(agent_pid, SIGCONT), 0);

  ASSERT_TRUE(WaitUntil(
      [&] {
        return agent_.Log().find(
                   "module late: waiting for its identity: listing the module "
                   "identities in edge-store failed: ") != std::string::npos;
      },
      // A pass the hang caught waits out its report's deadline (10 s) first.
      absl::Seconds(40)))
      << agent_.Log();
  absl::SleepFor(absl::Seconds(1));  // it is not created without its identity
  EXPECT_FALSE(runtime_.Inspect("late").ok());
  EXPECT_NE(Pid("first"), 0) << "the running module is left alone";

  ASSERT_EQ(kill(store_pid, SIGCONT), 0);
  std::map<std::string, std::string> env = WaitForEnv("late");
  store::v1::Identity identity;
  ASSERT_TRUE(GetIdentity("late", &identity).ok());
  EXPECT_EQ(identity.managed_by(), "edge-agent");
  EXPECT_THAT(env[kEdgeHubConnectionString],
              ::testing::EndsWith("SharedAccessKey=" + identity.primary_key()));
}

}  // namespace
}  // namespace edge::agent
