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
// Lifecycle: created by RunAgent before the DeploymentFollower, Start()ed once; the destructor
// stops and joins the thread (modules keep running). The runtime, AgentMetrics and the clock
// outlive it. Update is thread-safe; everything else runs on the reconciler's thread.
#ifndef EDGE_SERVICES_AGENT_RECONCILER_H_
#define EDGE_SERVICES_AGENT_RECONCILER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"
#include "services/agent/agent_metrics.h"
#include "services/agent/agent_reported.h"
#include "services/agent/manifest/manifest.h"
#include "services/agent/restart_policy.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

struct ReconcilerOptions {
  absl::Duration interval = absl::Seconds(5);  // [agent] reconcile_interval_seconds
  RestartSettings restart;
};

class Reconciler {
 public:
  // `twin_id` is `<device>/$edgeAgent` (its reported properties are written).
  Reconciler(std::shared_ptr<grpc::Channel> store, std::string twin_id, ModuleRuntime* runtime,
             ReconcilerOptions options, const Clock* clock, AgentMetrics* metrics);
  ~Reconciler();

  void Start();

  // The verdict on the last desired version (reported), and when set the deployment in force from
  // now on (its version is verdict->desired_version). A deployment of another version than the one
  // in force clears every module's restart history (given-up modules are tried again). Wakes the
  // reconciler.
  void Update(std::optional<DesiredStatus> verdict, std::optional<EdgeAgentDesired> deployment);

 private:
  void Run();
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; }
  // One pass: plan, execute, report. Returns when the next pass is due.
  absl::Time ReconcileOnce(const EdgeAgentDesired* deployment,
                           const std::optional<DesiredStatus>& verdict);
  // The restart policy's verdicts on `actual`; sets `*next` to the earliest backoff end.
  std::map<std::string, ModuleView> Views(const EdgeAgentDesired& deployment,
                                          const std::map<std::string, ModuleStatus>& actual,
                                          absl::Time* next);
  std::optional<std::map<std::string, ModuleStatus>> ListModules();
  void Report(const nlohmann::json& reported);

  const std::string twin_id_;
  ModuleRuntime* const runtime_;
  const ReconcilerOptions options_;
  const Clock* const clock_;
  AgentMetrics* const metrics_;
  std::unique_ptr<store::v1::TwinStore::Stub> twin_stub_;

  // The reconciler's thread only.
  RestartTracker restarts_;
  uint64_t seen_generation_ = 0;
  std::map<std::string, std::string> problems_;  // module → last failed action
  std::optional<nlohmann::json> last_reported_;  // what the store has (nullopt: not read yet)

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<DesiredStatus> verdict_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const EdgeAgentDesired> deployment_ ABSL_GUARDED_BY(mu_);
  int64_t deployment_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // + 1 for every new deployment version
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;  // a store call in progress
  std::thread thread_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_RECONCILER_H_
