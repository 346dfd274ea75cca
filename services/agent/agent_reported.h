// What the agent writes about itself: `$edgeAgent` reported properties (docs/iothub-surface.md §5)
// and the state it persists in its ServiceState namespace (`agent`/`deployment`).
//
// Example:
//   nlohmann::json now = ReportedProperties(deployment, status, modules, views);
//   nlohmann::json patch = MergePatchDiff(last_reported, now);  // only what changed; null removes
//   if (!patch.empty()) PatchReported(patch.dump());
#ifndef EDGE_SERVICES_AGENT_AGENT_REPORTED_H_
#define EDGE_SERVICES_AGENT_AGENT_REPORTED_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/desired_status.h"
#include "nlohmann/json.hpp"
#include "services/agent/manifest/manifest.h"
#include "services/agent/module_health.h"
#include "services/agent/restart_policy.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

// The ServiceState namespace and key of the agent's persisted AgentState.
inline constexpr char kAgentStateNamespace[] = "agent";
inline constexpr char kAgentStateKey[] = "deployment";

// Persisted as one value so its parts never disagree: the last valid deployment (its desired
// document), the verdict on the last desired version processed, and the watch cursor.
struct AgentState {
  struct Deployment {
    int64_t desired_version = 0;
    std::string desired_json;
  };
  std::optional<Deployment> deployment;
  std::optional<DesiredStatus> verdict;
  uint64_t cursor = 0;
};

// {"deployment": {"desiredVersion", "desired"}, "verdict": {"desiredVersion", "code",
// "description"}, "cursor": n}.
std::string SerializeAgentState(const AgentState& state);
// INVALID_ARGUMENT when `text` is not what SerializeAgentState writes.
absl::StatusOr<AgentState> ParseAgentState(absl::string_view text);

// The verdict on `desired_json` at `version`, and the parsed deployment when it is valid (200):
// 417 for an empty document (the twin the store creates), else the manifest library's 400/412.
struct DesiredEvaluation {
  DesiredStatus verdict;
  std::optional<EdgeAgentDesired> deployment = std::nullopt;
};
DesiredEvaluation EvaluateAgentDesired(int64_t version, const nlohmann::json& desired);

// The reconciler's view of one desired module besides the runtime's status.
struct ModuleView {
  // The restart policy's verdict: kBackoff → "backoff", kGaveUp → "failed".
  RestartAction restart = RestartAction::kNone;
  const RestartRecord* record = nullptr;  // restartCount, lastRestartTimeUtc
  // Why the module is not running when the runtime cannot say (a docker module, a failed
  // create): reported as statusDescription with runtimeStatus "unknown".
  std::string problem = {};
  // The module's health check, when it has one and runs.
  std::optional<HealthReport> health = std::nullopt;
  // Stopped by StopModule: runtimeStatus "stopped" until a start or the next deployment.
  bool held_stopped = false;
};

// The statusDescription of a module that StopModule holds stopped.
inline constexpr char kHeldStoppedDescription[] =
    "stopped by StopModule (edgectl stop); stays stopped until StartModule, RestartModule or the "
    "next deployment";

// The state of the services behind the `edgeHub` system module (ours: edge-hub, edge-router and
// edge-store, not a container): runtimeStatus "running" when all serve, else "unhealthy".
struct SystemModuleHealth {
  std::string runtime_status = {};
  std::string description = {};  // "" when running; else which service is down and why
};

// `checks`: each service by name ("edge-hub", …) with its health check's outcome, in order.
SystemModuleHealth HubHealthOf(const std::vector<std::pair<std::string, absl::Status>>& checks);

// ISO-8601 UTC with milliseconds, "2024-05-01T12:00:00.000Z".
std::string UtcTimeText(absl::Time time);

// runtimeStatus for a module: running, unhealthy (running, its health check failing), stopped
// (exit 0, created, or held stopped by StopModule), failed (exit ≠ 0, or given up), backoff, dead,
// unknown (not in the runtime).
std::string RuntimeStatusOf(const ModuleStatus* status, const ModuleView& view);

// The whole reported document: schemaVersion "1.1", lastDesiredVersion, lastDesiredStatus, and,
// with a deployment, runtime {type}, systemModules {edgeAgent: runtimeStatus running, edgeHub: as
// desired, with `hub_health` as its runtimeStatus and statusDescription when given} and modules
// {name: {…}} for every desired module. `actual` by name; `views` by name (missing = no view).
nlohmann::json ReportedProperties(
    const EdgeAgentDesired* deployment, const std::optional<DesiredStatus>& verdict,
    const std::map<std::string, ModuleStatus>& actual,
    const std::map<std::string, ModuleView>& views,
    const std::optional<SystemModuleHealth>& hub_health = std::nullopt);

// The RFC 7386 merge patch that turns `from` into `to` (members of `from` missing in `to` become
// null); an empty object when they are equal.
nlohmann::json MergePatchDiff(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_AGENT_REPORTED_H_
