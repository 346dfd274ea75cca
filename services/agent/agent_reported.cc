#include "services/agent/agent_reported.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/desired_status.h"

namespace edge::agent {
namespace {

using Json = nlohmann::json;

bool IsEmptyDocument(const Json& desired) {
  if (!desired.is_object()) return false;
  for (const auto& [key, value] : desired.items()) {
    if (key != "$version" && key != "$metadata") return false;
  }
  return true;
}

Json VerdictJson(const DesiredStatus& verdict) {
  return {{"desiredVersion", verdict.desired_version},
          {"code", verdict.code},
          {"description", verdict.description}};
}

// A system module as the deployment gives it (reported, never run).
Json SystemModuleJson(const ModuleSpec& spec) {
  Json module = {{"type", ToString(spec.type)}, {"settings", {{"image", spec.image}}}};
  if (spec.name != "edgeAgent") {
    module["status"] = ToString(spec.status);
    module["restartPolicy"] = ToString(spec.restart_policy);
  }
  return module;
}

Json ModuleJson(const ModuleSpec& spec, const ModuleStatus* status, const ModuleView& view) {
  Json module = {{"type", ToString(spec.type)},
                 {"status", ToString(spec.status)},
                 {"restartPolicy", ToString(spec.restart_policy)},
                 {"version", spec.version},
                 {"settings", {{"image", spec.image}}},
                 {"runtimeStatus", RuntimeStatusOf(status, view)},
                 {"restartCount", view.record != nullptr ? view.record->restart_count : 0}};
  if (view.record != nullptr && view.record->last_restart != absl::InfinitePast()) {
    module["lastRestartTimeUtc"] = UtcTimeText(view.record->last_restart);
  }
  if (status == nullptr) {
    module["statusDescription"] = view.problem;
    return module;
  }
  if (status->started_at != absl::InfinitePast()) {
    module["lastStartTimeUtc"] = UtcTimeText(status->started_at);
  }
  if (status->state == ModuleState::kExited || status->state == ModuleState::kDead) {
    if (status->finished_at != absl::InfinitePast()) {
      module["lastExitTimeUtc"] = UtcTimeText(status->finished_at);
    }
    module["exitCode"] = status->exit_code;
  } else if (view.record != nullptr && view.record->last_exit != absl::InfinitePast()) {
    // Running again after a restart: how the previous run ended.
    module["lastExitTimeUtc"] = UtcTimeText(view.record->last_exit);
    module["exitCode"] = view.record->last_exit_code;
  }
  std::string description = status->description;
  if (!view.problem.empty()) {
    description = view.problem;
  } else if (view.held_stopped && status->state != ModuleState::kRunning) {
    description = kHeldStoppedDescription;
  } else if (view.restart == RestartAction::kGaveUp) {
    description = absl::StrCat(description, "; not restarted after ", view.record->restart_count,
                               " restarts");
  } else if (view.restart == RestartAction::kBackoff && view.record != nullptr &&
             !view.record->unhealthy_stop.empty()) {
    description = absl::StrCat("stopped for being ", view.record->unhealthy_stop,
                               "; restarting after its backoff");
  } else if (status->state == ModuleState::kRunning) {
    description = "running";
    if (view.health.has_value() && view.health->health == Health::kUnhealthy) {
      description = view.health->Describe();
    } else if (view.health.has_value()) {
      description = absl::StrCat("running (", view.health->Describe(), ")");
    }
  } else if (status->state == ModuleState::kDead) {
    description = "its monitor ended without recording an exit";
  } else if (status->state == ModuleState::kCreated) {
    description = "created";
  }
  module["statusDescription"] = description;
  return module;
}

}  // namespace

std::string SerializeAgentState(const AgentState& state) {
  Json json = {{"cursor", state.cursor}};
  if (state.deployment.has_value()) {
    json["deployment"] = {{"desiredVersion", state.deployment->desired_version},
                          {"desired", state.deployment->desired_json}};
  }
  if (state.verdict.has_value()) json["verdict"] = VerdictJson(*state.verdict);
  return json.dump();
}

absl::StatusOr<AgentState> ParseAgentState(absl::string_view text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [] { return absl::InvalidArgumentError("not an agent state document"); };
  if (!json.is_object() || !json.contains("cursor") || !json["cursor"].is_number_unsigned()) {
    return bad();
  }
  AgentState state;
  state.cursor = json["cursor"].get<uint64_t>();
  if (const auto it = json.find("deployment"); it != json.end()) {
    if (!it->is_object() || !(*it)["desiredVersion"].is_number_integer() ||
        !(*it)["desired"].is_string()) {
      return bad();
    }
    state.deployment = AgentState::Deployment{(*it)["desiredVersion"].get<int64_t>(),
                                              (*it)["desired"].get<std::string>()};
  }
  if (const auto it = json.find("verdict"); it != json.end()) {
    if (!it->is_object() || !(*it)["desiredVersion"].is_number_integer() ||
        !(*it)["code"].is_number_integer() || !(*it)["description"].is_string()) {
      return bad();
    }
    state.verdict = DesiredStatus{(*it)["desiredVersion"].get<int64_t>(), (*it)["code"].get<int>(),
                                  (*it)["description"].get<std::string>()};
  }
  return state;
}

DesiredEvaluation EvaluateAgentDesired(int64_t version, const Json& desired) {
  if (IsEmptyDocument(desired)) {
    return {.verdict = {version, kDesiredNotConfigured, "no deployment has been set"}};
  }
  Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(desired);
  LastDesiredStatus status = LastDesiredStatusOf(parsed.errors);
  return {.verdict = {version, status.code, status.description},
          .deployment = std::move(parsed.value)};
}

std::string UtcTimeText(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

SystemModuleHealth HubHealthOf(const std::vector<std::pair<std::string, absl::Status>>& checks) {
  std::vector<std::string> down;
  for (const auto& [service, status] : checks) {
    if (!status.ok()) down.push_back(absl::StrCat(service, " is down (", status.message(), ")"));
  }
  if (down.empty()) return {.runtime_status = "running"};
  return {.runtime_status = "unhealthy", .description = absl::StrJoin(down, "; ")};
}

std::string RuntimeStatusOf(const ModuleStatus* status, const ModuleView& view) {
  if (status == nullptr) return "unknown";
  if (view.held_stopped && status->state != ModuleState::kRunning) return "stopped";
  switch (view.restart) {
    case RestartAction::kBackoff:
      return "backoff";
    case RestartAction::kGaveUp:
      return "failed";
    default:
      break;
  }
  switch (status->state) {
    case ModuleState::kRunning:
      return view.health.has_value() && view.health->health == Health::kUnhealthy ? "unhealthy"
                                                                                  : "running";
    case ModuleState::kCreated:
      return "stopped";
    case ModuleState::kExited:
      return status->exit_code == 0 ? "stopped" : "failed";
    case ModuleState::kDead:
      return "dead";
  }
  return "unknown";
}

Json ReportedProperties(const EdgeAgentDesired* deployment,
                        const std::optional<DesiredStatus>& verdict,
                        const std::map<std::string, ModuleStatus>& actual,
                        const std::map<std::string, ModuleView>& views,
                        const std::optional<SystemModuleHealth>& hub_health) {
  Json reported = {{"schemaVersion", "1.1"}};
  if (verdict.has_value()) {
    reported["lastDesiredVersion"] = verdict->desired_version;
    reported["lastDesiredStatus"] = {{"code", verdict->code},
                                     {"description", verdict->description}};
  }
  if (deployment == nullptr) return reported;
  reported["runtime"] = {{"type", deployment->runtime.type}};
  Json system_modules = Json::object();
  for (const auto& [name, spec] : deployment->system_modules) {
    system_modules[name] = SystemModuleJson(spec);
  }
  system_modules["edgeAgent"]["runtimeStatus"] = "running";  // it is writing this
  if (hub_health.has_value()) {
    system_modules["edgeHub"]["runtimeStatus"] = hub_health->runtime_status;
    system_modules["edgeHub"]["statusDescription"] = hub_health->description;
  }
  reported["systemModules"] = std::move(system_modules);
  Json modules = Json::object();
  const ModuleView no_view;
  for (const auto& [name, spec] : deployment->modules) {
    const auto status = actual.find(name);
    const auto view = views.find(name);
    modules[name] = ModuleJson(spec, status == actual.end() ? nullptr : &status->second,
                               view == views.end() ? no_view : view->second);
  }
  reported["modules"] = std::move(modules);
  return reported;
}

Json MergePatchDiff(const Json& from, const Json& to) {
  Json patch = Json::object();
  if (from.is_object()) {
    for (const auto& [key, value] : from.items()) {
      if (!to.contains(key)) patch[key] = nullptr;
    }
  }
  for (const auto& [key, value] : to.items()) {
    const auto old = from.is_object() ? from.find(key) : from.end();
    if (from.is_object() && old != from.end() && *old == value) continue;
    if (from.is_object() && old != from.end() && old->is_object() && value.is_object()) {
      patch[key] = MergePatchDiff(*old, value);
    } else {
      patch[key] = value;
    }
  }
  return patch;
}

}  // namespace edge::agent
