#include "services/agent/planner.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/status_macros.h"
#include "services/agent/module_config.h"

namespace edge::agent {
namespace {

absl::Status Execute(ModuleRuntime& runtime, const PlannedAction& action) {
  switch (action.kind) {
    case ActionKind::kRemove:
      return runtime.Remove(action.name);
    case ActionKind::kStop:
      return runtime.Stop(action.name);
    case ActionKind::kStart:
      return runtime.Start(action.name);
    case ActionKind::kRecreate:
      RETURN_IF_ERROR(runtime.Remove(action.name));  // stops it first
      [[fallthrough]];
    case ActionKind::kCreate:
      RETURN_IF_ERROR(runtime.Create(action.config));
      return action.start ? runtime.Start(action.name) : absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ToString(ActionKind kind) {
  switch (kind) {
    case ActionKind::kCreate:
      return "create";
    case ActionKind::kRecreate:
      return "recreate";
    case ActionKind::kStart:
      return "start";
    case ActionKind::kStop:
      return "stop";
    case ActionKind::kRemove:
      return "remove";
  }
  return "unknown";
}

std::vector<PlannedAction> PlanReconcile(const std::vector<const ModuleSpec*>& desired,
                                         const std::vector<ModuleStatus>& actual,
                                         const std::map<std::string, ModuleConnection>& connections,
                                         const std::set<std::string>& restart_due,
                                         const PlanOverrides& overrides) {
  std::map<std::string, const ModuleSpec*> runnable;
  for (const ModuleSpec* spec : desired) {
    if (spec->type == ModuleType::kProcess) runnable[spec->name] = spec;
  }
  std::map<std::string, const ModuleStatus*> present;
  std::vector<PlannedAction> plan;
  for (const ModuleStatus& module : actual) {
    if (runnable.count(module.config.name) == 0) {
      plan.push_back({.kind = ActionKind::kRemove, .name = module.config.name});
    } else {
      present[module.config.name] = &module;
    }
  }
  std::sort(plan.begin(), plan.end(),
            [](const PlannedAction& a, const PlannedAction& b) { return a.name < b.name; });
  for (const ModuleSpec* spec : desired) {
    if (spec->type != ModuleType::kProcess) continue;
    auto connection = connections.find(spec->name);
    const ModuleConnection* known = connection != connections.end() ? &connection->second : nullptr;
    const bool want_running = spec->status == DesiredModuleStatus::kRunning &&
                              overrides.held_stopped.count(spec->name) == 0;
    auto it = present.find(spec->name);
    if (known == nullptr) {
      // No identity this pass: nothing is created; a module running this spec is left to its
      // usual stops and starts (it keeps the environment it was created with).
      if (it == present.end() || !RunsSpec(it->second->config.spec_hash, *spec, nullptr)) continue;
    }
    absl::StatusOr<ModuleConfig> config = ModuleConfigFromSpec(*spec, known);
    if (!config.ok()) continue;
    if (it == present.end()) {
      plan.push_back({.kind = ActionKind::kCreate,
                      .name = spec->name,
                      .config = *std::move(config),
                      .start = want_running});
      continue;
    }
    const ModuleStatus& module = *it->second;
    if (!RunsSpec(module.config.spec_hash, *spec, known)) {
      plan.push_back({.kind = ActionKind::kRecreate,
                      .name = spec->name,
                      .config = *std::move(config),
                      .start = want_running});
    } else if (module.state == ModuleState::kRunning &&
               (!want_running || overrides.stop.count(spec->name) > 0)) {
      plan.push_back({.kind = ActionKind::kStop, .name = spec->name});
    } else if (want_running &&
               (module.state == ModuleState::kCreated ||
                (module.state != ModuleState::kRunning && restart_due.count(spec->name) > 0))) {
      plan.push_back({.kind = ActionKind::kStart, .name = spec->name});
    }
  }
  return plan;
}

std::vector<ActionResult> ExecutePlan(ModuleRuntime& runtime,
                                      const std::vector<PlannedAction>& plan) {
  std::vector<ActionResult> results;
  results.reserve(plan.size());
  for (const PlannedAction& action : plan) {
    results.push_back({.action = action, .status = Execute(runtime, action)});
  }
  return results;
}

}  // namespace edge::agent
