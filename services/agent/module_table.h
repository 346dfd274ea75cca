// ModuleTable: the agent's current view of its modules — the runtime's state, health and whether a
// StopModule holds the module stopped — as the reconciler last published it, and the changes for
// WatchModules. The reconciler publishes after every pass and after every start, stop or restart
// it carries out, so a watcher learns of a change the agent made at once and of one it only
// noticed (a module that exited) within a reconcile interval.
//
// Example:
//   uint64_t id = table.Subscribe(
//       [](const ModuleTable::Change& change) { /* send change.changed, change.removed */ },
//       &snapshot);  // the table as of subscribing; every later change goes to the listener
//   table.Publish(rows);
//   table.Unsubscribe(id);  // no call of the listener after this returns
//
// Thread-safe. A listener is called with the table's lock held: it must only queue the change
// (never call back into the table).
#ifndef EDGE_SERVICES_AGENT_MODULE_TABLE_H_
#define EDGE_SERVICES_AGENT_MODULE_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/agent/module_health.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

struct ModuleRow {
  ModuleStatus status = {};
  std::optional<HealthReport> health = std::nullopt;  // nullopt: no health check running
  bool held_stopped = false;  // stopped by StopModule until a start or a deployment
};

// Equal as a watcher sees them: state, pid, exit, times, argv, health and hold.
bool SameRow(const ModuleRow& a, const ModuleRow& b);

class ModuleTable {
 public:
  struct Change {
    std::vector<ModuleRow> changed;    // new or changed, by name
    std::vector<std::string> removed;  // gone, by name
  };
  using Listener = std::function<void(const Change&)>;

  // Replaces the table with `rows`; every listener gets what changed (nothing when nothing did).
  void Publish(std::vector<ModuleRow> rows);
  // Registers `listener` and fills `*snapshot` with the table, both under the table's lock, so
  // that the listener gets exactly the changes after the snapshot. Returns the id to unsubscribe.
  uint64_t Subscribe(Listener listener, std::vector<ModuleRow>* snapshot);
  void Unsubscribe(uint64_t id);
  // Whether the last published row of `name` is held stopped (false for an unknown module).
  bool HeldStopped(const std::string& name);

 private:
  absl::Mutex mu_;
  std::map<std::string, ModuleRow> rows_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MODULE_TABLE_H_
