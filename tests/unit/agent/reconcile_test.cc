// The reconciler's pure parts: the plan against a fake ModuleRuntime (create, recreate, start,
// stop, remove, rename, startupOrder, idempotence, docker modules), the restart policy with a
// FakeClock (every policy, the backoff sequence, giving up, the healthy reset), the ModuleConfig of
// a spec (argv, env, memory, the identity variables and the hash that follows them), modules
// waiting for their identity, reported properties and the persisted state.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/agent/agent_reported.h"
#include "services/agent/module_config.h"
#include "services/agent/module_environment.h"
#include "services/agent/module_table.h"
#include "services/agent/planner.h"
#include "services/agent/restart_policy.h"

namespace edge::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using Json = nlohmann::json;

// --- Fakes and builders
// ---------------------------------------------------------------------------

// Modules in memory; every call is recorded as "op name".
class FakeRuntime final : public ModuleRuntime {
 public:
  absl::Status Create(const ModuleConfig& config) override {
    calls.push_back("create " + config.name);
    if (modules.count(config.name) > 0) return absl::AlreadyExistsError(config.name);
    modules[config.name] = {.config = config};
    return absl::OkStatus();
  }
  absl::Status Start(const std::string& name) override {
    calls.push_back("start " + name);
    auto it = modules.find(name);
    if (it == modules.end()) return absl::NotFoundError(name);
    if (it->second.state == ModuleState::kRunning) return absl::FailedPreconditionError(name);
    it->second.state = ModuleState::kRunning;
    return absl::OkStatus();
  }
  absl::Status Stop(const std::string& name) override {
    calls.push_back("stop " + name);
    auto it = modules.find(name);
    if (it == modules.end()) return absl::NotFoundError(name);
    if (it->second.state == ModuleState::kRunning) {
      it->second.state = ModuleState::kExited;
      it->second.exit_code = 143;
    }
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& name) override {
    calls.push_back("remove " + name);
    return modules.erase(name) > 0 ? absl::OkStatus() : absl::NotFoundError(name);
  }
  absl::StatusOr<ModuleStatus> Inspect(const std::string& name) override {
    auto it = modules.find(name);
    if (it == modules.end()) return absl::NotFoundError(name);
    return it->second;
  }
  absl::StatusOr<std::vector<ModuleStatus>> List() override {
    std::vector<ModuleStatus> list;
    for (const auto& [name, module] : modules) list.push_back(module);
    return list;
  }
  absl::StatusOr<LogText> ReadLogs(const std::string&, const LogQuery&) override {
    return LogText();
  }
  absl::StatusOr<LogText> ReadLogsAfter(const std::string&, const LogCursor&) override {
    return LogText();
  }
  absl::StatusOr<ExecResult> Exec(const std::string& name, const std::vector<std::string>&,
                                  absl::Duration) override {
    calls.push_back("exec " + name);
    return ExecResult();
  }

  std::map<std::string, ModuleStatus> modules;
  std::vector<std::string> calls;
};

ModuleSpec ProcessSpec(const std::string& name, int64_t startup_order = kLastStartupOrder,
                       const std::string& script = "sleep 100") {
  ModuleSpec spec;
  spec.name = name;
  spec.version = "1.0";
  spec.type = ModuleType::kProcess;
  spec.startup_order = startup_order;
  spec.image = "/bin/sh";
  spec.create_options.cmd = std::vector<std::string>{"-c", script};
  spec.create_options.raw = {{"Cmd", {"-c", script}}};  // what RecreateFingerprint compares
  return spec;
}

std::vector<const ModuleSpec*> InOrder(const std::vector<ModuleSpec>& specs) {
  EdgeAgentDesired desired;
  static std::vector<EdgeAgentDesired> keep;  // the pointers must outlive the call
  for (const ModuleSpec& spec : specs) desired.modules[spec.name] = spec;
  keep.push_back(std::move(desired));
  return keep.back().InStartupOrder();
}

const HubEndpoint kHub{.iothub_hostname = "gw.local",
                       .gateway_hostname = "gw.local",
                       .ca_certificate_file = "/edge/certs/ca.pem"};
constexpr char kKey[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

// Every module of `specs` with its identity known (key `key`).
std::map<std::string, ModuleConnection> Connections(const std::vector<ModuleSpec>& specs,
                                                    const std::string& key = kKey) {
  std::map<std::string, ModuleConnection> connections;
  for (const ModuleSpec& spec : specs) {
    connections[spec.name] = ConnectionOf(kHub, "edge-device", spec.name, key);
  }
  return connections;
}

// Plans against `runtime`, executes, and returns the calls made.
std::vector<std::string> Reconcile(
    FakeRuntime& runtime, const std::vector<ModuleSpec>& specs,
    const std::set<std::string>& restart_due = {},
    const std::optional<std::map<std::string, ModuleConnection>>& connections = std::nullopt) {
  runtime.calls.clear();
  std::vector<PlannedAction> plan = PlanReconcile(
      InOrder(specs), *runtime.List(), connections.value_or(Connections(specs)), restart_due);
  for (const ActionResult& result : ExecutePlan(runtime, plan)) {
    EXPECT_TRUE(result.status.ok()) << result.action.name << ": " << result.status;
  }
  return runtime.calls;
}

// --- Planner
// --------------------------------------------------------------------------------------

TEST(PlannerTest, CreatesAndStartsInStartupOrderThenByName) {
  FakeRuntime runtime;
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("c", 2), ProcessSpec("b", 1), ProcessSpec("a", 2),
                                  ProcessSpec("last")}),
              ElementsAre("create b", "start b", "create a", "start a", "create c", "start c",
                          "create last", "start last"));
}

TEST(PlannerTest, SecondRunChangesNothing) {
  FakeRuntime runtime;
  std::vector<ModuleSpec> specs = {ProcessSpec("a", 1), ProcessSpec("b", 2)};
  Reconcile(runtime, specs);
  EXPECT_THAT(PlanReconcile(InOrder(specs), *runtime.List(), Connections(specs), {}), IsEmpty());
}

TEST(PlannerTest, StoppedModuleIsCreatedButNotStarted) {
  FakeRuntime runtime;
  ModuleSpec spec = ProcessSpec("a");
  spec.status = DesiredModuleStatus::kStopped;
  EXPECT_THAT(Reconcile(runtime, {spec}), ElementsAre("create a"));
  EXPECT_THAT(Reconcile(runtime, {spec}), IsEmpty());
}

TEST(PlannerTest, ChangedSpecIsRecreated) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("a", 1, "sleep 1")});
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a", 1, "sleep 2")}),
              ElementsAre("remove a", "create a", "start a"));
  EXPECT_EQ(runtime.modules["a"].config.argv,
            (std::vector<std::string>{"/bin/sh", "-c", "sleep 2"}));
}

TEST(PlannerTest, InPlaceChangeIsNoRecreation) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("a", 1)});
  ModuleSpec reordered = ProcessSpec("a", 7);
  reordered.restart_policy = RestartPolicy::kNever;
  EXPECT_THAT(Reconcile(runtime, {reordered}), IsEmpty());
}

TEST(PlannerTest, DesiredStatusChangeStopsAndStarts) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("a")});
  ModuleSpec stopped = ProcessSpec("a");
  stopped.status = DesiredModuleStatus::kStopped;
  EXPECT_THAT(Reconcile(runtime, {stopped}), ElementsAre("stop a"));
  EXPECT_THAT(Reconcile(runtime, {stopped}), IsEmpty());
  // An exited module desired running is started only when the restart policy says so.
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a")}), IsEmpty());
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a")}, {"a"}), ElementsAre("start a"));
}

TEST(PlannerTest, AHeldModuleIsStoppedAndNotStartedAgain) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("a"), ProcessSpec("b")});
  const PlanOverrides held{.held_stopped = {"a"}, .stop = {}};
  const std::vector<ModuleSpec> specs = {ProcessSpec("a"), ProcessSpec("b")};
  runtime.calls.clear();
  for (const ActionResult& result : ExecutePlan(
           runtime, PlanReconcile(InOrder(specs), *runtime.List(), Connections(specs), {}, held))) {
    EXPECT_TRUE(result.status.ok());
  }
  EXPECT_THAT(runtime.calls, ElementsAre("stop a"));
  // Held, it is not restarted even when the restart policy would.
  EXPECT_THAT(PlanReconcile(InOrder(specs), *runtime.List(), Connections(specs), {"a"}, held),
              IsEmpty());
}

TEST(PlannerTest, AnUnhealthyModuleToStopIsStopped) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("a"), ProcessSpec("b")});
  const std::vector<ModuleSpec> specs = {ProcessSpec("a"), ProcessSpec("b")};
  std::vector<PlannedAction> plan = PlanReconcile(
      InOrder(specs), *runtime.List(), Connections(specs), {}, {.held_stopped = {}, .stop = {"b"}});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].kind, ActionKind::kStop);
  EXPECT_EQ(plan[0].name, "b");
}

TEST(PlannerTest, RenameRemovesTheOldFirstThenCreatesTheNew) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("keep", 1), ProcessSpec("old", 2), ProcessSpec("gone", 3)});
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("keep", 1), ProcessSpec("new", 0)}),
              ElementsAre("remove gone", "remove old", "create new", "start new"));
  EXPECT_THAT(runtime.modules, ElementsAre(Pair("keep", ::testing::_), Pair("new", ::testing::_)));
}

TEST(PlannerTest, DockerModulesAreNeitherCreatedNorKept) {
  FakeRuntime runtime;
  ModuleSpec docker = ProcessSpec("d");
  docker.type = ModuleType::kDocker;
  EXPECT_THAT(Reconcile(runtime, {docker, ProcessSpec("p")}), ElementsAre("create p", "start p"));
  // A process module turned into a docker one is removed: the process runtime cannot run it.
  ModuleSpec p_docker = ProcessSpec("p");
  p_docker.type = ModuleType::kDocker;
  EXPECT_THAT(Reconcile(runtime, {docker, p_docker}), ElementsAre("remove p"));
}

TEST(PlannerTest, FailedActionDoesNotStopTheOthers) {
  FakeRuntime runtime;
  std::vector<PlannedAction> plan = {{.kind = ActionKind::kStart, .name = "missing"},
                                     {.kind = ActionKind::kCreate,
                                      .name = "a",
                                      .config = {.name = "a", .argv = {"x"}},
                                      .start = true}};
  std::vector<ActionResult> results = ExecutePlan(runtime, plan);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(results[1].status.ok());
  EXPECT_EQ(runtime.modules["a"].state, ModuleState::kRunning);
}

TEST(PlannerTest, AModuleWithoutItsIdentityIsNotCreated) {
  FakeRuntime runtime;
  EXPECT_THAT(
      Reconcile(runtime, {ProcessSpec("a"), ProcessSpec("b")}, {}, Connections({ProcessSpec("b")})),
      ElementsAre("create b", "start b"));
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a"), ProcessSpec("b")}),
              ElementsAre("create a", "start a"));
}

TEST(PlannerTest, ARunningModuleWhoseIdentityIsUnknownIsLeftAloneAndRestarted) {
  FakeRuntime runtime;
  Reconcile(runtime, {ProcessSpec("a")});
  const std::map<std::string, ModuleConnection> none;
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a")}, {}, none), IsEmpty());
  runtime.modules["a"].state = ModuleState::kExited;
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a")}, {"a"}, none), ElementsAre("start a"));
  // A changed spec waits for the identity: recreating needs its environment.
  EXPECT_THAT(Reconcile(runtime, {ProcessSpec("a", 1, "sleep 5")}, {}, none), IsEmpty());
}

TEST(PlannerTest, ANewKeyRecreatesTheModuleAndTheSameKeyDoesNot) {
  FakeRuntime runtime;
  const std::vector<ModuleSpec> specs = {ProcessSpec("a")};
  Reconcile(runtime, specs);
  EXPECT_THAT(Reconcile(runtime, specs, {}, Connections(specs)), IsEmpty());
  const std::string rotated = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=";
  EXPECT_THAT(Reconcile(runtime, specs, {}, Connections(specs, rotated)),
              ElementsAre("remove a", "create a", "start a"));
  EXPECT_THAT(runtime.modules["a"].config.env,
              ::testing::Contains(Pair("EdgeHubConnectionString", ::testing::EndsWith(rotated))));
}

// --- ModuleConfig from a spec
// ---------------------------------------------------------------------

TEST(ModuleConfigTest, ImageIsTheProgramWithCmdAsArguments) {
  ModuleSpec spec = ProcessSpec("m", 1, "echo hi");
  EXPECT_EQ(ModuleConfigFromSpec(spec)->argv,
            (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  spec.create_options.cmd.reset();
  EXPECT_EQ(ModuleConfigFromSpec(spec)->argv, (std::vector<std::string>{"/bin/sh"}));
}

TEST(ModuleConfigTest, EntrypointReplacesTheImage) {
  ModuleSpec spec = ProcessSpec("m", 1, "echo hi");
  spec.create_options.entrypoint = std::vector<std::string>{"/usr/bin/env", "sh"};
  EXPECT_EQ(ModuleConfigFromSpec(spec)->argv,
            (std::vector<std::string>{"/usr/bin/env", "sh", "-c", "echo hi"}));
}

TEST(ModuleConfigTest, ModuleEnvOverridesCreateOptionsEnv) {
  ModuleSpec spec = ProcessSpec("m");
  spec.create_options.env = {"B=from-options", "A=x=y", "B=second"};
  spec.env = {{"B", "from-env"}, {"C", "c"}};
  EXPECT_THAT(ModuleConfigFromSpec(spec)->env,
              ElementsAre(Pair("B", "from-env"), Pair("A", "x=y"), Pair("C", "c")));
}

TEST(ModuleConfigTest, WorkingDirMemoryGraceAndHash) {
  ModuleSpec spec = ProcessSpec("m");
  spec.create_options.working_dir = "/tmp";
  spec.create_options.memory_bytes = 64 << 20;
  absl::StatusOr<ModuleConfig> config = ModuleConfigFromSpec(spec);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->name, "m");
  EXPECT_EQ(config->working_dir, "/tmp");
  EXPECT_EQ(config->memory_bytes, 64 << 20);
  EXPECT_EQ(config->stop_grace, absl::Seconds(10));
  EXPECT_EQ(config->spec_hash, RecreateFingerprint(spec));
}

TEST(ModuleConfigTest, TheIdentityVariablesFollowTheModulesOwnAndReplaceThem) {
  ModuleSpec spec = ProcessSpec("m");
  spec.create_options.env = {"IOTEDGE_MODULEID=spoofed", "A=a"};
  spec.env = {{"EdgeHubConnectionString", "HostName=elsewhere"}, {"C", "c"}};
  const ModuleConnection connection = ConnectionOf(kHub, "edge-device", "m", kKey);
  absl::StatusOr<ModuleConfig> config = ModuleConfigFromSpec(spec, &connection);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->env,
              ElementsAre(Pair("A", "a"), Pair("C", "c"),
                          Pair("EdgeHubConnectionString",
                               absl::StrCat("HostName=gw.local;GatewayHostName=gw.local;"
                                            "DeviceId=edge-device;ModuleId=m;SharedAccessKey=",
                                            kKey)),
                          Pair("EdgeModuleCACertificateFile", "/edge/certs/ca.pem"),
                          Pair("IOTEDGE_DEVICEID", "edge-device"), Pair("IOTEDGE_MODULEID", "m"),
                          Pair("IOTEDGE_IOTHUBHOSTNAME", "gw.local"),
                          Pair("IOTEDGE_GATEWAYHOSTNAME", "gw.local"),
                          Pair("IOTEDGE_AUTHSCHEME", "sasToken")));
}

TEST(ModuleConfigTest, TheHashFollowsTheEnvironmentButNotTheKeyInClear) {
  ModuleSpec spec = ProcessSpec("m");
  const ModuleConnection connection = ConnectionOf(kHub, "edge-device", "m", kKey);
  ModuleConnection rotated = connection;
  rotated.shared_access_key = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=";
  const std::string hash = ModuleSpecHash(spec, &connection);
  EXPECT_EQ(hash, ModuleSpecHash(spec, &connection));  // deterministic
  EXPECT_NE(hash, ModuleSpecHash(spec, &rotated));
  EXPECT_EQ(hash.find(kKey), std::string::npos);
  EXPECT_EQ(ModuleConfigFromSpec(spec, &connection)->spec_hash, hash);
  EXPECT_TRUE(RunsSpec(hash, spec, &connection));
  EXPECT_FALSE(RunsSpec(hash, spec, &rotated));
  // Without a connection: whether it runs the spec, whatever its environment.
  EXPECT_TRUE(RunsSpec(hash, spec, nullptr));
  EXPECT_TRUE(RunsSpec(RecreateFingerprint(spec), spec, nullptr));
  EXPECT_FALSE(RunsSpec(hash, ProcessSpec("m", 1, "sleep 1"), nullptr));
  // A module created before identities existed is recreated once its identity is known.
  EXPECT_FALSE(RunsSpec(RecreateFingerprint(spec), spec, &connection));
}

TEST(ModuleConfigTest, DockerModuleIsFailedPrecondition) {
  ModuleSpec spec = ProcessSpec("m");
  spec.type = ModuleType::kDocker;
  absl::StatusOr<ModuleConfig> config = ModuleConfigFromSpec(spec);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(config.status().message(), kDockerNeedsBackend);
}

// --- Restart policy
// -------------------------------------------------------------------------------

constexpr absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

class RestartPolicyTest : public ::testing::Test {
 protected:
  // The module ended with `exit_code` now, after running for `ran`.
  ModuleStatus Exited(int exit_code, absl::Duration ran = absl::Seconds(1)) {
    return {.state = ModuleState::kExited,
            .started_at = clock_.Now() - ran,
            .finished_at = clock_.Now(),
            .exit_code = exit_code};
  }
  // Waits out the backoff of `status` and restarts it; returns the wait.
  absl::Duration WaitAndRestart(const ModuleStatus& status) {
    RestartDecision decision = tracker_.Decide("m", RestartPolicy::kAlways, status);
    EXPECT_EQ(decision.action, RestartAction::kBackoff);
    const absl::Duration wait = decision.restart_at - clock_.Now();
    clock_.Advance(wait);
    EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kAlways, status).action,
              RestartAction::kRestartNow);
    tracker_.RecordRestart("m", status);
    return wait;
  }

  FakeClock clock_{kStart};
  RestartTracker tracker_{RestartSettings{}, &clock_};
};

TEST_F(RestartPolicyTest, BackoffDoublesFromTenSecondsToFiveMinutes) {
  std::vector<absl::Duration> waits;
  for (int i = 0; i < 8; ++i) waits.push_back(WaitAndRestart(Exited(1)));
  EXPECT_THAT(waits, ElementsAre(absl::Seconds(10), absl::Seconds(20), absl::Seconds(40),
                                 absl::Seconds(80), absl::Seconds(160), absl::Seconds(300),
                                 absl::Seconds(300), absl::Seconds(300)));
  EXPECT_EQ(tracker_.Find("m")->restart_count, 8);
  EXPECT_EQ(tracker_.Find("m")->last_restart, clock_.Now());
}

TEST_F(RestartPolicyTest, BackoffDelayIsTheFormula) {
  RestartSettings settings{.initial_delay = absl::Milliseconds(100), .max_delay = absl::Seconds(1)};
  EXPECT_EQ(BackoffDelay(settings, 0), absl::Milliseconds(100));
  EXPECT_EQ(BackoffDelay(settings, 3), absl::Milliseconds(800));
  EXPECT_EQ(BackoffDelay(settings, 4), absl::Seconds(1));
  EXPECT_EQ(BackoffDelay(settings, 1000), absl::Seconds(1));
}

TEST_F(RestartPolicyTest, GivesUpAfterTwentyRestartsUntilCleared) {
  for (int i = 0; i < 20; ++i) WaitAndRestart(Exited(1));
  ModuleStatus exited = Exited(1);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kAlways, exited).action, RestartAction::kGaveUp);
  EXPECT_TRUE(tracker_.Find("m")->gave_up);
  tracker_.Clear();  // a new deployment
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kAlways, exited).action,
            RestartAction::kRestartNow);
}

TEST_F(RestartPolicyTest, TenMinutesRunningResetsTheCount) {
  for (int i = 0; i < 5; ++i) WaitAndRestart(Exited(1));
  ModuleStatus running{.state = ModuleState::kRunning, .started_at = clock_.Now()};
  clock_.Advance(absl::Minutes(9));
  tracker_.Decide("m", RestartPolicy::kAlways, running);
  EXPECT_EQ(tracker_.Find("m")->restart_count, 5);
  clock_.Advance(absl::Minutes(1));
  tracker_.Decide("m", RestartPolicy::kAlways, running);
  EXPECT_EQ(tracker_.Find("m"), nullptr);
}

TEST_F(RestartPolicyTest, ExitAfterTenMinutesHealthyWaitsTheFirstDelayAgain) {
  for (int i = 0; i < 5; ++i) WaitAndRestart(Exited(1));
  EXPECT_EQ(WaitAndRestart(Exited(1, absl::Minutes(10))), absl::Seconds(10));
}

TEST_F(RestartPolicyTest, AlwaysRestartsEveryExit) {
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kAlways, Exited(0)).action,
            RestartAction::kBackoff);
}

TEST_F(RestartPolicyTest, NeverRestartsNothing) {
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kNever, Exited(1)).action,
            RestartAction::kStayDown);
}

TEST_F(RestartPolicyTest, OnFailureRestartsOnlyNonZeroExitsAndDeadModules) {
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kOnFailure, Exited(0)).action,
            RestartAction::kStayDown);
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kOnFailure, Exited(2)).action,
            RestartAction::kBackoff);
  ModuleStatus dead{.state = ModuleState::kDead, .started_at = clock_.Now()};
  EXPECT_EQ(tracker_.Decide("d", RestartPolicy::kOnFailure, dead).action,
            RestartAction::kRestartNow);
}

TEST_F(RestartPolicyTest, OnUnhealthyRestartsFailedExitsAsOnFailureDoes) {
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kOnUnhealthy, Exited(0)).action,
            RestartAction::kStayDown);
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kOnUnhealthy, Exited(137)).action,
            RestartAction::kBackoff);
}

TEST_F(RestartPolicyTest, AnUnhealthyStopIsRestartedHoweverItExitedUnderOnUnhealthyAndAlways) {
  for (RestartPolicy policy : {RestartPolicy::kOnUnhealthy, RestartPolicy::kAlways}) {
    tracker_.Clear();
    tracker_.RecordUnhealthyStop("m", "unhealthy: 3 consecutive health checks failed");
    RestartDecision decision = tracker_.Decide("m", policy, Exited(0));
    EXPECT_EQ(decision.action, RestartAction::kBackoff) << ToString(policy);
    EXPECT_EQ(decision.restart_at, clock_.Now() + absl::Seconds(10)) << ToString(policy);
  }
}

TEST_F(RestartPolicyTest, AnUnhealthyStopIsNotRestartedUnderOnFailureOrNever) {
  for (RestartPolicy policy : {RestartPolicy::kOnFailure, RestartPolicy::kNever}) {
    tracker_.Clear();
    tracker_.RecordUnhealthyStop("m", "unhealthy");
    EXPECT_EQ(tracker_.Decide("m", policy, Exited(0)).action, RestartAction::kStayDown)
        << ToString(policy);
  }
}

TEST_F(RestartPolicyTest, TheRestartAfterAnUnhealthyStopCountsAndClearsIt) {
  tracker_.RecordUnhealthyStop("m", "unhealthy");
  ModuleStatus stopped = Exited(0);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kOnUnhealthy, stopped).action,
            RestartAction::kRestartNow);
  tracker_.RecordRestart("m", stopped);
  EXPECT_EQ(tracker_.Find("m")->restart_count, 1);
  EXPECT_EQ(tracker_.Find("m")->unhealthy_stop, "");
  // A clean exit of the restarted module is not restarted by on-unhealthy.
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kOnUnhealthy, Exited(0)).action,
            RestartAction::kStayDown);
}

TEST_F(RestartPolicyTest, RunningAndCreatedModulesNeedNothing) {
  EXPECT_EQ(tracker_
                .Decide("m", RestartPolicy::kAlways,
                        {.state = ModuleState::kRunning, .started_at = clock_.Now()})
                .action,
            RestartAction::kNone);
  EXPECT_EQ(tracker_.Decide("m", RestartPolicy::kAlways, {}).action, RestartAction::kNone);
}

// --- Reported properties and state
// ----------------------------------------------------------------

TEST(ReportedTest, ModulesWithRuntimeStatusTimesAndRestarts) {
  EdgeAgentDesired deployment;
  deployment.runtime.type = "docker";
  deployment.modules["run"] = ProcessSpec("run");
  deployment.modules["back"] = ProcessSpec("back");
  ModuleSpec docker = ProcessSpec("dock");
  docker.type = ModuleType::kDocker;
  deployment.modules["dock"] = docker;
  const absl::Time t = absl::FromUnixMillis(1'700'000'000'123);
  std::map<std::string, ModuleStatus> actual = {
      {"run", {.state = ModuleState::kRunning, .started_at = t}},
      {"back",
       {.state = ModuleState::kExited,
        .started_at = t,
        .finished_at = t + absl::Seconds(1),
        .exit_code = 1,
        .description = "exited with 1"}}};
  RestartRecord record{.restart_count = 2, .last_restart = t};
  std::map<std::string, ModuleView> views = {
      {"back", {.restart = RestartAction::kBackoff, .record = &record}},
      {"dock", {.problem = kDockerNeedsBackend}}};
  Json reported = ReportedProperties(&deployment, DesiredStatus{7, 200, ""}, actual, views);
  EXPECT_EQ(reported["lastDesiredVersion"], 7);
  EXPECT_EQ(reported["lastDesiredStatus"], (Json{{"code", 200}, {"description", ""}}));
  EXPECT_EQ(reported["modules"]["run"]["runtimeStatus"], "running");
  EXPECT_EQ(reported["modules"]["run"]["lastStartTimeUtc"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(reported["modules"]["run"]["restartCount"], 0);
  EXPECT_EQ(reported["modules"]["back"]["runtimeStatus"], "backoff");
  EXPECT_EQ(reported["modules"]["back"]["exitCode"], 1);
  EXPECT_EQ(reported["modules"]["back"]["restartCount"], 2);
  EXPECT_EQ(reported["modules"]["back"]["lastExitTimeUtc"], "2023-11-14T22:13:21.123Z");
  EXPECT_EQ(reported["modules"]["back"]["lastRestartTimeUtc"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(reported["modules"]["dock"]["runtimeStatus"], "unknown");
  EXPECT_EQ(reported["modules"]["dock"]["statusDescription"], kDockerNeedsBackend);
  EXPECT_EQ(reported["systemModules"]["edgeAgent"]["runtimeStatus"], "running");
}

TEST(ReportedTest, RuntimeStatusOfEveryState) {
  ModuleView none;
  EXPECT_EQ(RuntimeStatusOf(nullptr, none), "unknown");
  ModuleStatus created{.state = ModuleState::kCreated};
  EXPECT_EQ(RuntimeStatusOf(&created, none), "stopped");
  ModuleStatus exited0{.state = ModuleState::kExited, .exit_code = 0};
  ModuleStatus exited3{.state = ModuleState::kExited, .exit_code = 3};
  ModuleStatus dead{.state = ModuleState::kDead};
  EXPECT_EQ(RuntimeStatusOf(&exited0, none), "stopped");
  EXPECT_EQ(RuntimeStatusOf(&exited3, none), "failed");
  EXPECT_EQ(RuntimeStatusOf(&dead, none), "dead");
  EXPECT_EQ(RuntimeStatusOf(&exited0, {.restart = RestartAction::kGaveUp}), "failed");
}

TEST(ReportedTest, HealthShowsInRuntimeStatusAndDescription) {
  ModuleStatus running{.state = ModuleState::kRunning};
  HealthReport unhealthy{
      .health = Health::kUnhealthy, .failing_streak = 3, .last_failure = "exit 1"};
  HealthReport healthy{.health = Health::kHealthy, .failing_streak = 0, .last_failure = ""};
  EXPECT_EQ(RuntimeStatusOf(&running, {.health = unhealthy}), "unhealthy");
  EXPECT_EQ(RuntimeStatusOf(&running, {.health = healthy}), "running");

  EdgeAgentDesired deployment;
  deployment.modules["sick"] = ProcessSpec("sick");
  deployment.modules["fine"] = ProcessSpec("fine");
  std::map<std::string, ModuleStatus> actual = {{"sick", running}, {"fine", running}};
  std::map<std::string, ModuleView> views = {{"sick", {.health = unhealthy}},
                                             {"fine", {.health = healthy}}};
  Json reported = ReportedProperties(&deployment, DesiredStatus{1, 200, ""}, actual, views);
  EXPECT_EQ(reported["modules"]["sick"]["runtimeStatus"], "unhealthy");
  EXPECT_EQ(reported["modules"]["sick"]["statusDescription"],
            "unhealthy: 3 consecutive health checks failed; the last: exit 1");
  EXPECT_EQ(reported["modules"]["fine"]["statusDescription"], "running (healthy)");
}

TEST(ReportedTest, AModuleInBackoffAfterAnUnhealthyStopSaysWhy) {
  EdgeAgentDesired deployment;
  deployment.modules["sick"] = ProcessSpec("sick");
  RestartRecord record{.unhealthy_stop = "unhealthy: 3 consecutive health checks failed"};
  Json reported =
      ReportedProperties(&deployment, DesiredStatus{1, 200, ""},
                         {{"sick", {.state = ModuleState::kExited, .exit_code = 143}}},
                         {{"sick", {.restart = RestartAction::kBackoff, .record = &record}}});
  EXPECT_EQ(reported["modules"]["sick"]["runtimeStatus"], "backoff");
  EXPECT_EQ(reported["modules"]["sick"]["statusDescription"],
            "stopped for being unhealthy: 3 consecutive health checks failed; restarting after its "
            "backoff");
}

TEST(ReportedTest, AHeldModuleIsStoppedWhateverItsExitCode) {
  EdgeAgentDesired deployment;
  deployment.modules["held"] = ProcessSpec("held");
  Json reported = ReportedProperties(&deployment, DesiredStatus{1, 200, ""},
                                     {{"held", {.state = ModuleState::kExited, .exit_code = 143}}},
                                     {{"held", {.held_stopped = true}}});
  EXPECT_EQ(reported["modules"]["held"]["runtimeStatus"], "stopped");
  EXPECT_EQ(reported["modules"]["held"]["statusDescription"], kHeldStoppedDescription);
  EXPECT_EQ(reported["modules"]["held"]["status"], "running");  // desired, as deployed
}

TEST(ReportedTest, EdgeHubIsRunningWhenHubRouterAndStoreServe) {
  EdgeAgentDesired deployment;
  SystemModuleHealth up = HubHealthOf({{"edge-hub", absl::OkStatus()},
                                       {"edge-router", absl::OkStatus()},
                                       {"edge-store", absl::OkStatus()}});
  Json reported = ReportedProperties(&deployment, DesiredStatus{1, 200, ""}, {}, {}, up);
  EXPECT_EQ(reported["systemModules"]["edgeHub"]["runtimeStatus"], "running");
  EXPECT_EQ(reported["systemModules"]["edgeHub"]["statusDescription"], "");
}

TEST(ReportedTest, EdgeHubIsUnhealthyNamingTheServicesThatAreDown) {
  SystemModuleHealth down = HubHealthOf({{"edge-hub", absl::OkStatus()},
                                         {"edge-router", absl::UnavailableError("refused")},
                                         {"edge-store", absl::FailedPreconditionError("x")}});
  EXPECT_EQ(down.runtime_status, "unhealthy");
  EXPECT_EQ(down.description, "edge-router is down (refused); edge-store is down (x)");
}

TEST(ModuleTableTest, SubscribersGetTheSnapshotThenOnlyChanges) {
  ModuleTable table;
  const ModuleRow a{.status = {.config = {.name = "a"}, .state = ModuleState::kRunning, .pid = 5}};
  const ModuleRow b{.status = {.config = {.name = "b"}, .state = ModuleState::kCreated}};
  table.Publish({a, b});
  std::vector<ModuleTable::Change> changes;
  std::vector<ModuleRow> snapshot;
  const uint64_t id = table.Subscribe(
      [&](const ModuleTable::Change& change) { changes.push_back(change); }, &snapshot);
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].status.config.name, "a");

  table.Publish({a, b});  // nothing changed
  EXPECT_THAT(changes, IsEmpty());
  ModuleRow stopped = a;
  stopped.status.state = ModuleState::kExited;
  stopped.held_stopped = true;
  table.Publish({stopped});
  ASSERT_EQ(changes.size(), 1u);
  ASSERT_EQ(changes[0].changed.size(), 1u);
  EXPECT_EQ(changes[0].changed[0].status.state, ModuleState::kExited);
  EXPECT_THAT(changes[0].removed, ElementsAre("b"));
  EXPECT_TRUE(table.HeldStopped("a"));

  table.Unsubscribe(id);
  table.Publish({});
  EXPECT_EQ(changes.size(), 1u);
}

TEST(ReportedTest, MergePatchDiffHasOnlyChangesAndNullsForRemovals) {
  Json from = {{"a", 1}, {"modules", {{"x", {{"s", "running"}}}, {"y", {{"s", "running"}}}}}};
  Json to = {{"a", 1}, {"modules", {{"x", {{"s", "failed"}}}, {"z", {{"s", "running"}}}}}};
  EXPECT_EQ(
      MergePatchDiff(from, to),
      (Json{{"modules", {{"x", {{"s", "failed"}}}, {"y", nullptr}, {"z", {{"s", "running"}}}}}}));
  EXPECT_EQ(MergePatchDiff(to, to), Json::object());
  Json applied = from;
  applied.merge_patch(MergePatchDiff(from, to));
  EXPECT_EQ(applied, to);
}

TEST(ReportedTest, EmptyDesiredIs417AndInvalidIs400Or412) {
  EXPECT_EQ(EvaluateAgentDesired(1, Json::object()).verdict.code, 417);
  EXPECT_EQ(EvaluateAgentDesired(2, Json{{"schemaVersion", "1.1"}}).verdict.code, 400);
  EXPECT_EQ(EvaluateAgentDesired(3, Json{{"schemaVersion", "9"}}).verdict.code, 412);
  DesiredEvaluation valid = EvaluateAgentDesired(
      4, Json{{"schemaVersion", "1.1"}, {"runtime", {{"type", "process"}}}, {"$version", 4}});
  EXPECT_EQ(valid.verdict, (DesiredStatus{4, 200, ""}));
  EXPECT_TRUE(valid.deployment.has_value());
}

TEST(ReportedTest, AgentStateRoundTrips) {
  AgentState state{.deployment = AgentState::Deployment{5, R"({"schemaVersion":"1.1"})"},
                   .verdict = DesiredStatus{6, 400, "bad"},
                   .cursor = 42};
  absl::StatusOr<AgentState> parsed = ParseAgentState(SerializeAgentState(state));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->cursor, 42u);
  EXPECT_EQ(parsed->deployment->desired_version, 5);
  EXPECT_EQ(parsed->deployment->desired_json, R"({"schemaVersion":"1.1"})");
  EXPECT_EQ(parsed->verdict, (DesiredStatus{6, 400, "bad"}));
  EXPECT_EQ(ParseAgentState("{").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAgentState(R"({"cursor": 1, "verdict": 3})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edge::agent
