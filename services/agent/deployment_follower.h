// DeploymentFollower: follows the `$edgeAgent` twin's desired properties through the store's
// resumable watch (DESIGN.md, "Who writes what": the agent acts only on the store's watch) and
// hands each verdict to the Reconciler.
//
// On its thread (TwinDesiredFollower's) it
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
// The watching, retrying and persisting are TwinDesiredFollower's (common/twin_desired_follower.h),
// shared with the router; this class is the agent's Handler.
//
// Lifecycle: created by RunAgent after the Reconciler, Start()ed once; the destructor cancels the
// calls in progress and joins the thread. The Reconciler and AgentMetrics outlive it.
#ifndef EDGE_SERVICES_AGENT_DEPLOYMENT_FOLLOWER_H_
#define EDGE_SERVICES_AGENT_DEPLOYMENT_FOLLOWER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/retry_backoff.h"
#include "common/twin_desired_follower.h"
#include "grpcpp/channel.h"
#include "nlohmann/json.hpp"
#include "services/agent/agent_metrics.h"
#include "services/agent/agent_reported.h"
#include "services/agent/reconciler.h"

namespace edge::agent {

class DeploymentFollower final : private TwinDesiredFollower::Handler {
 public:
  // `twin_id` is `<device>/$edgeAgent`.
  DeploymentFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id, RetryPolicy retry,
                     Reconciler* reconciler, AgentMetrics* metrics);

  void Start() { follower_.Start(); }

 private:
  Loaded Load(const std::optional<std::string>& persisted) override;
  // The verdict goes to the reconciler, which reports it: no reported patch here.
  std::optional<std::string> Evaluate(int64_t version, const nlohmann::json& desired) override;
  std::string State(uint64_t cursor) override;

  const std::string twin_id_;
  Reconciler* const reconciler_;
  AgentMetrics* const metrics_;
  AgentState state_;              // the follower's thread only
  TwinDesiredFollower follower_;  // last: stopped (joined) before the rest is destroyed
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_DEPLOYMENT_FOLLOWER_H_
