// RestartTracker: the restart policy of docs/iothub-surface.md §5 for modules whose desired status
// is running — whether and when a module that ended is started again, and when the agent gives up.
//
// `always` restarts every exit; `on-failure` and `on-unhealthy` restart an exit code other than 0
// or a dead module; `never` never. A module the reconciler stopped because its health check found
// it unhealthy (RecordUnhealthyStop; only under `on-unhealthy` and `always`) is restarted however
// it exited. The n-th restart (n = restartCount, from 0) waits min(initial · 2^n, max) after the
// exit (10, 20, 40, … 300 s by default), runtimeStatus `backoff` meanwhile. After `max_restarts`
// restarts without `healthy_reset` of running, the module is `failed` and not restarted until
// Clear() (the deployment changed). A module that ran for `healthy_reset` gets its count back to 0.
//
// Example:
//   RestartTracker tracker(RestartSettings{}, SystemClock::Get());
//   RestartDecision decision = tracker.Decide("m", RestartPolicy::kAlways, status);
//   if (decision.action == RestartAction::kRestartNow && runtime.Start("m").ok())
//     tracker.RecordRestart("m", status);
//
// Pure logic over an injected clock: no I/O. Not thread-safe (the reconciler's thread owns it).
#ifndef EDGE_SERVICES_AGENT_RESTART_POLICY_H_
#define EDGE_SERVICES_AGENT_RESTART_POLICY_H_

#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "services/agent/manifest/module_spec.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

struct RestartSettings {
  absl::Duration initial_delay = absl::Seconds(10);
  absl::Duration max_delay = absl::Seconds(300);
  int max_restarts = 20;
  absl::Duration healthy_reset = absl::Minutes(10);
};

// What the tracker knows of one module (in memory: an agent restart starts from 0).
struct RestartRecord {
  int restart_count = 0;
  absl::Time last_restart = absl::InfinitePast();
  bool gave_up = false;
  // How the run before the last restart ended (reported while the module runs again).
  int last_exit_code = 0;
  absl::Time last_exit = absl::InfinitePast();
  // Set when the module was stopped for being unhealthy (why), until it is restarted.
  std::string unhealthy_stop = {};
};

enum class RestartAction {
  kNone,        // running or never started: nothing for the policy to do
  kStayDown,    // ended, and the policy does not restart it
  kBackoff,     // ended; restart at `restart_at`
  kRestartNow,  // ended and its backoff is over
  kGaveUp,      // ended after max_restarts restarts: `failed` until the deployment changes
};

struct RestartDecision {
  RestartAction action = RestartAction::kNone;
  absl::Time restart_at = absl::InfinitePast();  // kBackoff
};

// min(initial · 2^restart_count, max).
absl::Duration BackoffDelay(const RestartSettings& settings, int restart_count);

// True when `policy` restarts a module that ended as `status` says (kExited or kDead).
bool PolicyRestarts(RestartPolicy policy, const ModuleStatus& status);

// True when `policy` restarts a module that is unhealthy: `on-unhealthy` and `always`.
bool PolicyRestartsUnhealthy(RestartPolicy policy);

class RestartTracker {
 public:
  RestartTracker(RestartSettings settings, const Clock* clock);

  // For a module desired running: what to do about `status`. Resets the count when the module has
  // been running (or ran before it ended) for healthy_reset; marks it given up when it is due a
  // restart beyond max_restarts.
  RestartDecision Decide(const std::string& name, RestartPolicy policy, const ModuleStatus& status);
  // The module, which had ended as `ended` says, was started again by the policy:
  // restartCount + 1, lastRestartTimeUtc = now.
  void RecordRestart(const std::string& name, const ModuleStatus& ended);
  // The reconciler stopped the running module because it is unhealthy (`why`): the policy
  // restarts it, with the usual backoff, however it exited.
  void RecordUnhealthyStop(const std::string& name, std::string why);
  // The module is gone or recreated: its history with it.
  void Forget(const std::string& name) { records_.erase(name); }
  // A new deployment: every module gets a fresh start (given-up modules are tried again).
  void Clear() { records_.clear(); }
  // nullptr when the module never restarted.
  const RestartRecord* Find(const std::string& name) const;

 private:
  const RestartSettings settings_;
  const Clock* const clock_;
  std::map<std::string, RestartRecord> records_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_RESTART_POLICY_H_
