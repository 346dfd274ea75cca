// DeploymentFollower: follows the `$edgeAgent` twin's desired properties through the store's
// resumable watch (DESIGN.md, "Who writes what": the agent acts only on the store's watch) and
// hands each verdict to the Reconciler.
//
// On its thread it
//   1. reads the agent's persisted AgentState (ServiceState `agent`/`deployment`: the last valid
//      deployment, the last verdict, the watch cursor) and gives that deployment to the
//      reconciler, so that after a reboot the modules come back without waiting for the watch;
//   2. watches TWIN_DESIRED changes of `<device>/$edgeAgent` from the cursor (a snapshot first
//      when the cursor is 0 or too old). Every desired version is evaluated whole: valid (200)
//      replaces the deployment in force, invalid (400/412) or empty (417) leaves it; the verdict
//      goes to the reconciler (which reports it), then the state is persisted with the change's
//      sequence as cursor.
// Failed store calls (the store down at start included) are logged at warn, counted
// (edge_agent_store_errors_total) and retried with backoff, forever.
//
// This is the router's DesiredFollower (services/router/desired_follower.h) adapted to the agent's
// state and verdicts; both could share one generic follower in common/.
//
// Lifecycle: created by RunAgent after the Reconciler, Start()ed once; the destructor cancels the
// calls in progress and joins the thread. The Reconciler and AgentMetrics outlive it.
#ifndef EDGE_SERVICES_AGENT_DEPLOYMENT_FOLLOWER_H_
#define EDGE_SERVICES_AGENT_DEPLOYMENT_FOLLOWER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/retry_backoff.h"
#include "edge/store/v1/state.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "edge/store/v1/watch.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"
#include "services/agent/agent_metrics.h"
#include "services/agent/agent_reported.h"
#include "services/agent/reconciler.h"

namespace edge::agent {

class DeploymentFollower {
 public:
  // `twin_id` is `<device>/$edgeAgent`.
  DeploymentFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id, RetryPolicy retry,
                     Reconciler* reconciler, AgentMetrics* metrics);
  ~DeploymentFollower();

  void Start();

 private:
  void Run();
  absl::Status LoadState();
  // One watch stream, until it fails or the follower stops.
  absl::Status Watch();
  // Brings desired_ up to date with one change; GetTwin when a patch's base is unknown.
  absl::Status UpdateDesired(const store::v1::Change& change);
  // Evaluates desired_ if not yet done, hands the verdict over and persists with `cursor`.
  absl::Status Settle(uint64_t cursor, bool force_evaluate);
  absl::Status Persist();
  absl::Status Failed(const char* operation, const grpc::Status& status);
  bool SleepUnlessStopped(absl::Duration delay);

  class Call;  // one store call's context, cancellable by the destructor

  std::unique_ptr<store::v1::ServiceState::Stub> state_stub_;
  std::unique_ptr<store::v1::TwinStore::Stub> twin_stub_;
  std::unique_ptr<store::v1::ChangeFeed::Stub> watch_stub_;
  const std::string twin_id_;
  Reconciler* const reconciler_;
  AgentMetrics* const metrics_;

  // Used by the follower's thread only.
  RetryBackoff backoff_;
  bool loaded_ = false;
  AgentState state_;
  nlohmann::json desired_;
  int64_t desired_version_ = 0;
  int64_t evaluated_version_ = 0;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_DEPLOYMENT_FOLLOWER_H_
