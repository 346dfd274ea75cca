#include "services/agent/reconciler.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "services/agent/module_config.h"
#include "services/agent/planner.h"

namespace edge::agent {
namespace {}  // namespace

Reconciler::Reconciler(std::shared_ptr<grpc::Channel> store, std::string twin_id,
                       ModuleRuntime* runtime, ReconcilerOptions options, const Clock* clock,
                       AgentMetrics* metrics)
    : twin_id_(std::move(twin_id)),
      runtime_(runtime),
      options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      twin_stub_(store::v1::TwinStore::NewStub(store)),
      restarts_(options_.restart, clock) {}

Reconciler::~Reconciler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void Reconciler::Start() {
  thread_ = std::thread([this] { Run(); });
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
  while (true) {
    std::shared_ptr<const EdgeAgentDesired> deployment;
    std::optional<DesiredStatus> verdict;
    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &Reconciler::Woken),
                           std::max(next - clock_->Now(), absl::ZeroDuration()));
      if (stopping_) return;
      wake_ = false;
      if (!loaded_) {
        next = clock_->Now() + options_.interval;
        continue;
      }
      deployment = deployment_;
      verdict = verdict_;
      generation = generation_;
    }
    if (generation != seen_generation_) {
      restarts_.Clear();
      seen_generation_ = generation;
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
    absl::Time* next) {
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
    auto status = actual.find(name);
    if (status != actual.end() && spec.status == DesiredModuleStatus::kRunning &&
        status->second.config.spec_hash == RecreateFingerprint(spec)) {
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
  if (deployment != nullptr) {
    std::set<std::string> restart_due;
    for (const auto& [name, view] : Views(*deployment, *actual, &next)) {
      if (view.restart == RestartAction::kRestartNow) restart_due.insert(name);
    }
    std::vector<ModuleStatus> modules;
    for (const auto& [name, module] : *actual) modules.push_back(module);
    std::vector<PlannedAction> plan =
        PlanReconcile(deployment->InStartupOrder(), modules, restart_due);
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
      } else {
        spdlog::warn("module {}: {} failed: {}", name, action, result.status.ToString());
        problems_[name] = absl::StrCat(action, " failed: ", result.status.message());
      }
      metrics_->reconcile_actions.WithLabels({action, result.status.ok() ? "ok" : "error"})
          .Increment();
    }
    if (!plan.empty()) {
      actual = ListModules();
      if (!actual.has_value()) return next;
    }
  }
  std::map<std::string, ModuleView> views;
  if (deployment != nullptr) views = Views(*deployment, *actual, &next);
  Report(ReportedProperties(deployment, verdict, *actual, views));
  return next;
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
