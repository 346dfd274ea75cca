// Reconciler: runs the deployment in force on the module runtime and reports it in `$edgeAgent`
// reported properties (docs/iothub-surface.md §5).
//
// On its thread, whenever the DeploymentFollower hands over a new verdict or deployment, and
// otherwise every `interval` (sooner when a module's restart backoff ends), it
//   1. lists the runtime's modules and asks the RestartTracker about every ended module that is
//      desired running;
//   2. plans (planner.h) and executes the plan; failures are logged at warn, counted
//      (edge_agent_reconcile_actions_total{outcome="error"}) and reported as the module's
//      statusDescription, and retried on the next pass;
//   3. builds the reported document and patches what changed (nothing when nothing did; the first
//      patch after start is a diff against what the store has).
// Nothing is done before the follower's first Update (the persisted state loaded): a restarted
// agent must not act on an empty deployment. Modules already running with the deployment's
// spec_hash are adopted as they are.
//
// Identities: every pass with a deployment first lists the device's module identities
// (ModuleIdentities) and creates the missing ones of the process modules it runs (`managed_by`
// edge-agent); each module's environment carries its identity's primary key
// (module_environment.h), and a changed key recreates the module. A module whose identity cannot
// be read or created (the store down) is not created this pass — it waits, reported with a
// statusDescription saying why — while modules already running are left as they are (the last
// identities read are kept). After the plan, identities managed by the agent whose module the
// deployment no longer names are deleted; others are never deleted.
//
// Health: every pass tells the HealthChecker which running modules have a Healthcheck; a running
// module it finds unhealthy is stopped when its restartPolicy is `on-unhealthy` or `always`, and
// the restart policy restarts it with the usual backoff (others are reported `unhealthy` and left
// running). Every pass also checks the health of edge-hub, edge-router and edge-store, reported as
// the `edgeHub` system module's runtimeStatus.
//
// Commands (StartModule, StopModule, RestartModule) run on the reconciler's thread between passes,
// so they never race a pass; a pass follows each batch. A stop holds the module stopped (the
// restart policy leaves it alone) until a start or restart, or a deployment of another version.
// Every pass publishes the modules to the ModuleTable (WatchModules).
//
// Lifecycle: created by RunAgent before the DeploymentFollower, Start()ed once; Stop() (or the
// destructor) stops and joins the thread (modules keep running) and fails commands not yet run
// with UNAVAILABLE. The runtime, the HealthChecker, the ModuleTable, AgentMetrics and the clock
// outlive it. Update, Wake, Submit and Stop are thread-safe; everything else runs on the
// reconciler's thread.
#ifndef EDGE_SERVICES_AGENT_RECONCILER_H_
#define EDGE_SERVICES_AGENT_RECONCILER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"
#include "services/agent/agent_metrics.h"
#include "services/agent/agent_reported.h"
#include "services/agent/health_checker.h"
#include "services/agent/manifest/manifest.h"
#include "services/agent/module_environment.h"
#include "services/agent/module_identities.h"
#include "services/agent/module_table.h"
#include "services/agent/restart_policy.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

// A service whose health makes the `edgeHub` system module's runtimeStatus.
struct SystemService {
  std::string name;    // "edge-hub", "edge-router", "edge-store"
  std::string target;  // its gRPC address
};

struct ReconcilerOptions {
  absl::Duration interval = absl::Seconds(5);  // [agent] reconcile_interval_seconds
  RestartSettings restart;
  // Checked every pass (grpc.health.v1, common/health_check.h) for `edgeHub`'s runtimeStatus;
  // empty: not reported.
  std::vector<SystemService> hub_services;
  absl::Duration service_check_timeout = absl::Seconds(1);
  // What every module's environment says about the hub (module_environment.h).
  HubEndpoint hub_endpoint;
  // How long an identity call waits for the store.
  absl::Duration identity_call_timeout = absl::Seconds(2);
};

enum class ModuleCommand { kStart, kStop, kRestart };

// "start", "stop", "restart".
absl::string_view ToString(ModuleCommand command);

class Reconciler {
 public:
  // `device_id` is the edge device: `<device>/$edgeAgent`'s reported properties are written, its
  // modules' identities are `<device>/<module>`. `health` and `table` may be null (no health
  // checks; nothing published).
  Reconciler(std::shared_ptr<grpc::Channel> store, std::string device_id, ModuleRuntime* runtime,
             ReconcilerOptions options, const Clock* clock, AgentMetrics* metrics,
             HealthChecker* health = nullptr, ModuleTable* table = nullptr);
  ~Reconciler();

  void Start();
  // Stops and joins the thread; commands not yet run get UNAVAILABLE, and so do later ones.
  void Stop();

  // A pass soon (a module's health changed).
  void Wake();

  // Runs `command` on module `name` on the reconciler's thread and calls `done` there with the
  // outcome (or at once with UNAVAILABLE when the reconciler is stopping):
  //   kStop     holds the module stopped and stops it (SIGTERM, SIGKILL after its grace);
  //   kStart    releases the hold, forgets its restart history and starts it (OK when running);
  //   kRestart  releases the hold, forgets its restart history, stops and starts it.
  // NOT_FOUND ("no module \"x\"") for a module the runtime does not have; FAILED_PRECONDITION for
  // kStart/kRestart of a module the deployment in force wants stopped; the runtime's errors.
  void Submit(ModuleCommand command, std::string name, std::function<void(absl::Status)> done);

  // The verdict on the last desired version (reported), and when set the deployment in force from
  // now on (its version is verdict->desired_version). A deployment of another version than the one
  // in force clears every module's restart history (given-up modules are tried again). Wakes the
  // reconciler.
  void Update(std::optional<DesiredStatus> verdict, std::optional<EdgeAgentDesired> deployment);

 private:
  void Run();
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || wake_ || !commands_.empty();
  }
  // One pass: plan, execute, report. Returns when the next pass is due.
  absl::Time ReconcileOnce(const EdgeAgentDesired* deployment,
                           const std::optional<DesiredStatus>& verdict);
  // The restart policy's verdicts on `actual`; sets `*next` to the earliest backoff end.
  std::map<std::string, ModuleView> Views(
      const EdgeAgentDesired& deployment, const std::map<std::string, ModuleStatus>& actual,
      const std::map<std::string, ModuleConnection>& connections, absl::Time* next);
  // Reads the module identities and creates the missing ones of the deployment's process modules;
  // returns the connection of every module whose identity is known. Sets `identity_problems_`;
  // `*listed` tells whether the store's list was read this pass.
  std::map<std::string, ModuleConnection> SyncIdentities(const EdgeAgentDesired& deployment,
                                                         bool* listed);
  // Deletes the identities managed by the agent whose module `deployment` does not name.
  void DeleteRemovedIdentities(const EdgeAgentDesired& deployment);
  std::optional<std::map<std::string, ModuleStatus>> ListModules();
  void Report(const nlohmann::json& reported);
  absl::Status RunCommand(ModuleCommand command, const std::string& name,
                          const EdgeAgentDesired* deployment);
  // Tells the health checker which modules to check.
  void TrackHealth(const EdgeAgentDesired& deployment,
                   const std::map<std::string, ModuleStatus>& actual);
  std::optional<SystemModuleHealth> CheckHubServices();
  void Publish(const std::map<std::string, ModuleStatus>& actual);

  struct Command {
    ModuleCommand command;
    std::string name;
    std::function<void(absl::Status)> done;
  };

  const std::string device_id_;
  const std::string twin_id_;
  ModuleRuntime* const runtime_;
  const ReconcilerOptions options_;
  const Clock* const clock_;
  AgentMetrics* const metrics_;
  HealthChecker* const health_;
  ModuleTable* const table_;
  std::unique_ptr<store::v1::TwinStore::Stub> twin_stub_;
  ModuleIdentities identities_;

  // The reconciler's thread only.
  RestartTracker restarts_;
  uint64_t seen_generation_ = 0;
  std::map<std::string, std::string> problems_;  // module → last failed action
  std::optional<nlohmann::json> last_reported_;  // what the store has (nullopt: not read yet)
  std::set<std::string> held_stopped_;           // StopModule until a start or a deployment
  std::set<std::string> services_down_;          // hub services last found down (logged once)
  // The device's module identities as last read (or created): a store that is down leaves
  // running modules alone.
  std::map<std::string, ModuleIdentity> known_identities_;
  // Modules some deployment this reconciler acted on named: their identities are deleted as soon
  // as a deployment drops them (DeleteRemovedIdentities).
  std::set<std::string> ever_deployed_;
  std::map<std::string, std::string> identity_problems_;  // module → why it waits (this pass)

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<DesiredStatus> verdict_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const EdgeAgentDesired> deployment_ ABSL_GUARDED_BY(mu_);
  int64_t deployment_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // + 1 for every new deployment version
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;  // a store call in progress
  std::vector<Command> commands_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_RECONCILER_H_
