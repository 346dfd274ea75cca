#include "services/agent/reconciler.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/health_check.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/agent/deployment_writes.h"
#include "services/agent/module_config.h"
#include "services/agent/planner.h"

namespace edge::agent {
namespace {

constexpr char kShuttingDown[] = "edge-agent is shutting down";
// How long an identity managed by edge-agent that no deployment acted on here named is kept
// (DeleteRemovedIdentities): ApplyDeployment's identity creation to its `$edgeAgent` write takes at
// most a few store calls of kStoreWait.
constexpr absl::Duration kUnclaimedIdentityGrace = absl::Minutes(1);

}  // namespace

absl::string_view ToString(ModuleCommand command) {
  switch (command) {
    case ModuleCommand::kStart:
      return "start";
    case ModuleCommand::kStop:
      return "stop";
    case ModuleCommand::kRestart:
      return "restart";
  }
  return "unknown";
}

Reconciler::Reconciler(std::shared_ptr<grpc::Channel> store, std::string device_id,
                       ModuleRuntime* runtime, ReconcilerOptions options, const Clock* clock,
                       AgentMetrics* metrics, HealthChecker* health, ModuleTable* table)
    : device_id_(std::move(device_id)),
      twin_id_(EdgeAgentTwinId(device_id_)),
      runtime_(runtime),
      options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      health_(health),
      table_(table),
      twin_stub_(store::v1::TwinStore::NewStub(store)),
      identities_(store, device_id_, options_.identity_call_timeout),
      restarts_(options_.restart, clock) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Reconciler::Stop() {
  std::vector<Command> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  identities_.Cancel();
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    left.swap(commands_);
  }
  for (Command& command : left) command.done(absl::UnavailableError(kShuttingDown));
}

void Reconciler::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void Reconciler::Submit(ModuleCommand command, std::string name,
                        std::function<void(absl::Status)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      commands_.push_back({command, std::move(name), std::move(done)});
      return;
    }
  }
  done(absl::UnavailableError(kShuttingDown));
}

absl::Status Reconciler::RunCommand(ModuleCommand command, const std::string& name,
                                    const EdgeAgentDesired* deployment) {
  ASSIGN_OR_RETURN(ModuleStatus status, runtime_->Inspect(name));
  if (command == ModuleCommand::kStop) {
    held_stopped_.insert(name);
    return runtime_->Stop(name);
  }
  if (deployment != nullptr) {
    auto spec = deployment->modules.find(name);
    if (spec != deployment->modules.end() && spec->second.status == DesiredModuleStatus::kStopped) {
      return absl::FailedPreconditionError(absl::StrCat(
          "module \"", name,
          "\" is desired stopped by the deployment; deploy it with \"status\": \"running\""));
    }
  }
  held_stopped_.erase(name);
  restarts_.Forget(name);
  if (command == ModuleCommand::kRestart) {
    RETURN_IF_ERROR(runtime_->Stop(name));
  } else if (status.state == ModuleState::kRunning) {
    return absl::OkStatus();
  }
  return runtime_->Start(name);
}

void Reconciler::Update(std::optional<DesiredStatus> verdict,
                        std::optional<EdgeAgentDesired> deployment) {
  absl::MutexLock lock(&mu_);
  loaded_ = true;
  wake_ = true;
  if (verdict.has_value()) verdict_ = std::move(verdict);
  if (!deployment.has_value()) return;
  const int64_t version = verdict_.has_value() ? verdict_->desired_version : 0;
  if (deployment_ == nullptr || version != deployment_version_) ++generation_;
  deployment_version_ = version;
  deployment_ = std::make_shared<const EdgeAgentDesired>(*std::move(deployment));
}

void Reconciler::Run() {
  absl::Time next = clock_->Now();
  if (std::optional<std::map<std::string, ModuleStatus>> actual = ListModules()) Publish(*actual);
  while (true) {
    std::shared_ptr<const EdgeAgentDesired> deployment;
    std::optional<DesiredStatus> verdict;
    std::vector<Command> commands;
    uint64_t generation;
    bool loaded;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &Reconciler::Woken),
                           std::max(next - clock_->Now(), absl::ZeroDuration()));
      if (stopping_) return;
      wake_ = false;
      commands.swap(commands_);
      loaded = loaded_;
      deployment = deployment_;
      verdict = verdict_;
      generation = generation_;
    }
    if (loaded && generation != seen_generation_) {
      restarts_.Clear();
      held_stopped_.clear();  // a new deployment ends every StopModule hold
      seen_generation_ = generation;
    }
    std::vector<absl::Status> outcomes;
    for (Command& command : commands) {
      absl::Status status = RunCommand(command.command, command.name, deployment.get());
      const std::string what(ToString(command.command));
      if (status.ok()) {
        spdlog::info("module {}: {} (requested)", command.name, what);
      } else {
        spdlog::warn("module {}: requested {} failed: {}", command.name, what, status.ToString());
      }
      metrics_->module_commands.WithLabels({what, status.ok() ? "ok" : "error"}).Increment();
      outcomes.push_back(std::move(status));
    }
    if (!commands.empty()) {
      // Published before the callers hear back, so that what they read next (GetModule,
      // WatchModules) already shows it; the pass below reports it.
      if (std::optional<std::map<std::string, ModuleStatus>> actual = ListModules()) {
        Publish(*actual);
      }
      for (size_t i = 0; i < commands.size(); ++i) commands[i].done(outcomes[i]);
    }
    if (!loaded) {
      next = clock_->Now() + options_.interval;
      continue;
    }
    next = ReconcileOnce(deployment.get(), verdict);
  }
}

std::optional<std::map<std::string, ModuleStatus>> Reconciler::ListModules() {
  absl::StatusOr<std::vector<ModuleStatus>> list = runtime_->List();
  if (!list.ok()) {
    spdlog::warn("listing the runtime's modules failed: {}", list.status().ToString());
    metrics_->reconcile_actions.WithLabels({"list", "error"}).Increment();
    return std::nullopt;
  }
  std::map<std::string, ModuleStatus> by_name;
  for (ModuleStatus& module : *list) by_name[module.config.name] = std::move(module);
  return by_name;
}

std::map<std::string, ModuleView> Reconciler::Views(
    const EdgeAgentDesired& deployment, const std::map<std::string, ModuleStatus>& actual,
    const std::map<std::string, ModuleConnection>& connections, absl::Time* next) {
  std::map<std::string, ModuleView> views;
  for (const auto& [name, spec] : deployment.modules) {
    ModuleView& view = views[name];
    if (spec.type != ModuleType::kProcess) {
      view.problem = kDockerNeedsBackend;
      continue;
    }
    if (auto problem = problems_.find(name); problem != problems_.end()) {
      view.problem = problem->second;
    }
    view.held_stopped = held_stopped_.count(name) > 0;
    if (health_ != nullptr) view.health = health_->Find(name);
    auto status = actual.find(name);
    auto connection = connections.find(name);
    const ModuleConnection* known = connection != connections.end() ? &connection->second : nullptr;
    const bool runs_spec =
        status != actual.end() && RunsSpec(status->second.config.spec_hash, spec, known);
    if (auto problem = identity_problems_.find(name);
        problem != identity_problems_.end() && !runs_spec) {
      view.problem = problem->second;  // it waits for its identity
    }
    if (runs_spec && spec.status == DesiredModuleStatus::kRunning && !view.held_stopped) {
      RestartDecision decision = restarts_.Decide(name, spec.restart_policy, status->second);
      view.restart = decision.action;
      if (decision.action == RestartAction::kBackoff) *next = std::min(*next, decision.restart_at);
    }
    view.record = restarts_.Find(name);
  }
  return views;
}

absl::Time Reconciler::ReconcileOnce(const EdgeAgentDesired* deployment,
                                     const std::optional<DesiredStatus>& verdict) {
  absl::Time next = clock_->Now() + options_.interval;
  std::optional<std::map<std::string, ModuleStatus>> actual = ListModules();
  if (!actual.has_value()) return next;
  std::map<std::string, ModuleConnection> connections;
  if (deployment != nullptr) {
    bool listed = false;
    connections = SyncIdentities(*deployment, &listed);
    TrackHealth(*deployment, *actual);
    std::set<std::string> restart_due;
    PlanOverrides overrides{.held_stopped = held_stopped_, .stop = {}};
    std::map<std::string, std::string> unhealthy;  // module → why, to be stopped
    for (const auto& [name, view] : Views(*deployment, *actual, connections, &next)) {
      if (view.restart == RestartAction::kRestartNow) restart_due.insert(name);
      auto status = actual->find(name);
      if (status != actual->end() && status->second.state == ModuleState::kRunning &&
          !view.held_stopped && view.health.has_value() &&
          view.health->health == Health::kUnhealthy &&
          PolicyRestartsUnhealthy(deployment->modules.at(name).restart_policy)) {
        overrides.stop.insert(name);
        unhealthy[name] = view.health->Describe();
      }
    }
    std::vector<ModuleStatus> modules;
    for (const auto& [name, module] : *actual) modules.push_back(module);
    std::vector<PlannedAction> plan =
        PlanReconcile(deployment->InStartupOrder(), modules, connections, restart_due, overrides);
    for (const ActionResult& result : ExecutePlan(*runtime_, plan)) {
      const std::string& name = result.action.name;
      const std::string action(ToString(result.action.kind));
      if (result.status.ok()) {
        spdlog::info("module {}: {}", name, action);
        problems_.erase(name);
        if (result.action.kind == ActionKind::kStart && restart_due.count(name) > 0) {
          restarts_.RecordRestart(name, actual->at(name));
          metrics_->module_restarts.Increment();
        }
        if (result.action.kind == ActionKind::kRemove ||
            result.action.kind == ActionKind::kRecreate) {
          restarts_.Forget(name);
        }
        if (result.action.kind == ActionKind::kStop && unhealthy.count(name) > 0) {
          spdlog::warn("module {}: stopped for being {}; its restart policy restarts it", name,
                       unhealthy[name]);
          metrics_->unhealthy_stops.Increment();
          restarts_.RecordUnhealthyStop(name, unhealthy[name]);
        }
      } else {
        spdlog::warn("module {}: {} failed: {}", name, action, result.status.ToString());
        problems_[name] = absl::StrCat(action, " failed: ", result.status.message());
      }
      metrics_->reconcile_actions.WithLabels({action, result.status.ok() ? "ok" : "error"})
          .Increment();
    }
    if (listed) DeleteRemovedIdentities(*deployment);
    if (!plan.empty()) {
      actual = ListModules();
      if (!actual.has_value()) return next;
    }
  }
  std::map<std::string, ModuleView> views;
  std::optional<SystemModuleHealth> hub_health;
  if (deployment != nullptr) {
    TrackHealth(*deployment, *actual);
    views = Views(*deployment, *actual, connections, &next);
  }
  Publish(*actual);
  if (deployment != nullptr) hub_health = CheckHubServices();
  Report(ReportedProperties(deployment, verdict, *actual, views, hub_health));
  return next;
}

std::map<std::string, ModuleConnection> Reconciler::SyncIdentities(
    const EdgeAgentDesired& deployment, bool* listed) {
  std::map<std::string, std::string> waiting_before;
  waiting_before.swap(identity_problems_);
  absl::StatusOr<std::map<std::string, ModuleIdentity>> list = identities_.List();
  *listed = list.ok();
  std::string unavailable;
  if (list.ok()) {
    known_identities_ = *std::move(list);
  } else {
    spdlog::warn("store call identity_list for device {} failed (retrying): {}", device_id_,
                 list.status().ToString());
    metrics_->store_errors.WithLabels({"identity_list"}).Increment();
    unavailable = absl::StrCat(
        "waiting for its identity: listing the module identities in "
        "edge-store failed: ",
        list.status().message());
  }
  std::map<std::string, ModuleConnection> connections;
  for (const auto& [name, spec] : deployment.modules) {
    if (spec.type != ModuleType::kProcess) continue;  // the agent runs (and identifies) these
    auto known = known_identities_.find(name);
    if (known == known_identities_.end()) {
      if (!*listed) {
        identity_problems_[name] = unavailable;
        continue;
      }
      absl::StatusOr<ModuleIdentity> created = identities_.Create(name);
      if (!created.ok()) {
        spdlog::warn("store call identity_create for {}/{} failed (retrying): {}", device_id_, name,
                     created.status().ToString());
        metrics_->store_errors.WithLabels({"identity_create"}).Increment();
        identity_problems_[name] =
            absl::StrCat("waiting for its identity: creating ", device_id_, "/", name,
                         " in edge-store failed: ", created.status().message());
        continue;
      }
      spdlog::info("module {}: identity {}/{} {}", name, device_id_, name,
                   created->managed_by_agent ? "created" : "exists (not managed by edge-agent)");
      known = known_identities_.emplace(name, *std::move(created)).first;
    }
    const ModuleIdentity& identity = known->second;
    if (!identity.sas || identity.primary_key.empty()) {
      identity_problems_[name] =
          absl::StrCat("waiting for its identity: ", device_id_, "/", name,
                       " has no symmetric key (an X.509 identity); modules connect with SAS");
      continue;
    }
    connections.emplace(
        name, ConnectionOf(options_.hub_endpoint, device_id_, name, identity.primary_key));
  }
  for (const auto& [name, problem] : identity_problems_) {
    if (waiting_before.count(name) == 0) spdlog::warn("module {}: {}", name, problem);
  }
  for (const auto& [name, problem] : waiting_before) {
    if (identity_problems_.count(name) == 0 && connections.count(name) > 0) {
      spdlog::info("module {}: its identity is known again", name);
    }
  }
  return connections;
}

void Reconciler::DeleteRemovedIdentities(const EdgeAgentDesired& deployment) {
  for (const auto& [name, spec] : deployment.modules) ever_deployed_.insert(name);
  for (auto it = known_identities_.begin(); it != known_identities_.end();) {
    const ModuleIdentity& identity = it->second;
    // ApplyDeployment creates the identities of a deployment's new modules just before it writes
    // `$edgeAgent`: a pass still acting on the previous deployment must not take them away. One
    // that no deployment seen here named is left alone for a while (it may be for the next).
    const bool unclaimed_and_new = ever_deployed_.count(identity.module_id) == 0 &&
                                   absl::Now() - identity.created < kUnclaimedIdentityGrace;
    if (!identity.managed_by_agent || deployment.modules.count(identity.module_id) > 0 ||
        unclaimed_and_new) {
      ++it;
      continue;
    }
    absl::Status deleted = identities_.Delete(identity.module_id);
    if (!deleted.ok()) {
      spdlog::warn("store call identity_delete for {}/{} failed (retrying): {}", device_id_,
                   identity.module_id, deleted.ToString());
      metrics_->store_errors.WithLabels({"identity_delete"}).Increment();
      ++it;
      continue;
    }
    spdlog::info("module {}: identity {}/{} deleted", identity.module_id, device_id_,
                 identity.module_id);
    it = known_identities_.erase(it);
  }
}

void Reconciler::TrackHealth(const EdgeAgentDesired& deployment,
                             const std::map<std::string, ModuleStatus>& actual) {
  if (health_ == nullptr) return;
  std::map<std::string, HealthChecker::Target> targets;
  for (const auto& [name, status] : actual) {
    auto spec = deployment.modules.find(name);
    if (spec == deployment.modules.end() || status.state != ModuleState::kRunning) continue;
    std::optional<HealthSettings> settings = HealthSettingsFromSpec(spec->second.create_options);
    if (settings.has_value()) targets[name] = {*std::move(settings), status.started_at};
  }
  health_->Track(targets);
}

std::optional<SystemModuleHealth> Reconciler::CheckHubServices() {
  if (options_.hub_services.empty()) return std::nullopt;
  std::vector<std::pair<std::string, absl::Status>> checks;
  for (const SystemService& service : options_.hub_services) {
    absl::Status status = CheckHealth(service.target, options_.service_check_timeout);
    if (!status.ok()) {
      metrics_->system_service_down.WithLabels({service.name}).Increment();
      if (services_down_.insert(service.name).second) {
        spdlog::warn("{} at {} is not serving: {}", service.name, service.target,
                     status.ToString());
      }
    } else if (services_down_.erase(service.name) > 0) {
      spdlog::info("{} is serving again", service.name);
    }
    checks.emplace_back(service.name, std::move(status));
  }
  return HubHealthOf(checks);
}

void Reconciler::Publish(const std::map<std::string, ModuleStatus>& actual) {
  if (table_ == nullptr) return;
  std::vector<ModuleRow> rows;
  for (const auto& [name, status] : actual) {
    rows.push_back({.status = status,
                    .health = health_ != nullptr ? health_->Find(name) : std::nullopt,
                    .held_stopped = held_stopped_.count(name) > 0});
  }
  table_->Publish(std::move(rows));
}

void Reconciler::Report(const nlohmann::json& reported) {
  // One store call at a time, cancellable by the destructor.
  const auto call = [this](auto&& invoke) {
    grpc::ClientContext context;
    SetLocalCallDeadline(context);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return grpc::Status::CANCELLED;
      call_ = &context;
    }
    grpc::Status status = invoke(&context);
    absl::MutexLock lock(&mu_);
    call_ = nullptr;
    return status;
  };
  const auto failed = [this](const char* operation, const grpc::Status& status) {
    spdlog::warn("store call {} for {} failed (retrying): {}", operation, twin_id_,
                 status.error_message());
    metrics_->store_errors.WithLabels({operation}).Increment();
  };
  if (!last_reported_.has_value()) {
    store::v1::GetTwinRequest request;
    request.set_id(twin_id_);
    store::v1::Twin twin;
    grpc::Status status = call(
        [&](grpc::ClientContext* context) { return twin_stub_->GetTwin(context, request, &twin); });
    if (!status.ok()) return failed("twin_get", status);
    last_reported_ = nlohmann::json::parse(twin.reported().json(), nullptr, false);
    if (!last_reported_->is_object()) last_reported_ = nlohmann::json::object();
  }
  nlohmann::json patch = MergePatchDiff(*last_reported_, reported);
  if (patch.empty()) return;
  store::v1::PatchTwinRequest request;
  request.set_id(twin_id_);
  request.set_patch_json(patch.dump());
  store::v1::Twin twin;
  grpc::Status status = call([&](grpc::ClientContext* context) {
    return twin_stub_->PatchReported(context, request, &twin);
  });
  if (!status.ok()) {
    last_reported_.reset();  // read again: the patch may or may not have been applied
    return failed("report", status);
  }
  last_reported_ = reported;
}

}  // namespace edge::agent
