// The reconcile plan: what to do to the module runtime so that it runs the deployment in force.
// Pure: PlanReconcile compares desired modules with the runtime's List() and returns actions;
// ExecutePlan carries them out against any ModuleRuntime (the process runtime, or a test fake).
//
// Rules (services/agent/README.md, "Reconciler"):
//   - a runtime module the deployment does not name (or names as a docker module) → kRemove;
//   - a desired process module the runtime lacks → kCreate (started when desired running);
//   - spec_hash ≠ ModuleSpecHash(spec, its connection) (the spec or the identity environment
//     changed) → kRecreate (stop, remove, create, start if running);
//   - a module without a connection in `connections` (its identity could not be read or created
//     this pass) is never created or recreated: it waits; when the runtime has it running the
//     deployment's spec (RunsSpec), it is stopped and started as usual, with the environment it
//     was created with;
//   - desired stopped and running → kStop; desired running and never started → kStart;
//   - desired running, ended, and named in `restart_due` (the restart policy's verdict) → kStart;
//   - `overrides.held_stopped` (StopModule) count as desired stopped; running modules in
//     `overrides.stop` (unhealthy, to be restarted by the restart policy) → kStop.
// Removals come first (by name), then everything else in startupOrder, ties by name. Docker
// modules get no action (the process runtime cannot run them). Running a plan and planning again
// gives an empty plan.
//
// Example:
//   std::vector<PlannedAction> plan =
//       PlanReconcile(desired.InStartupOrder(), *runtime.List(), connections, {});
//   for (const ActionResult& r : ExecutePlan(runtime, plan)) if (!r.status.ok()) …
#ifndef EDGE_SERVICES_AGENT_PLANNER_H_
#define EDGE_SERVICES_AGENT_PLANNER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/agent/manifest/module_spec.h"
#include "services/agent/module_environment.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

enum class ActionKind { kCreate, kRecreate, kStart, kStop, kRemove };

// "create", "recreate", "start", "stop", "remove" (logs and the metrics' `action` label).
absl::string_view ToString(ActionKind kind);

struct PlannedAction {
  ActionKind kind = ActionKind::kStart;
  std::string name;
  ModuleConfig config = {};  // kCreate, kRecreate: what to create
  bool start = false;        // kCreate, kRecreate: start it afterwards

  friend bool operator==(const PlannedAction&, const PlannedAction&) = default;
};

// What the reconciler decides besides the deployment.
struct PlanOverrides {
  std::set<std::string> held_stopped = {};  // stopped by StopModule: as if desired stopped
  std::set<std::string> stop = {};  // running but unhealthy: stop (the policy restarts them)
};

// `desired` in startupOrder (EdgeAgentDesired::InStartupOrder); `actual` the runtime's modules;
// `connections` the identity environment of each desired module whose identity is known.
std::vector<PlannedAction> PlanReconcile(const std::vector<const ModuleSpec*>& desired,
                                         const std::vector<ModuleStatus>& actual,
                                         const std::map<std::string, ModuleConnection>& connections,
                                         const std::set<std::string>& restart_due,
                                         const PlanOverrides& overrides = {});

struct ActionResult {
  PlannedAction action;
  absl::Status status;  // the first runtime error of the action's steps
};

// Runs every action in order (a failed one does not stop the others: they are other modules).
std::vector<ActionResult> ExecutePlan(ModuleRuntime& runtime,
                                      const std::vector<PlannedAction>& plan);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_PLANNER_H_
