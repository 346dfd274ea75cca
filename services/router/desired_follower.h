// DesiredFollower: keeps the router's configuration in step with the `$edgeHub` twin's desired
// properties (DESIGN.md, "Who writes what": the router acts only on the store's watch).
//
// On its thread (TwinDesiredFollower's) it
//   1. reads the router's persisted state (ServiceState `router`/`routes`: the last valid
//      configuration, the last status, the watch cursor) and puts that configuration in force, so
//      the router routes as before a restart without waiting for the watch;
//   2. watches TWIN_DESIRED changes of `<device>/$edgeHub` from the cursor (a snapshot first when
//      the cursor is 0 or the store no longer has it). For every desired version it evaluates the
//      whole document: a valid one replaces the configuration in force, an invalid one leaves it;
//      either way lastDesiredVersion/lastDesiredStatus go into `$edgeHub` reported properties,
//      then the state (with the change's sequence as cursor) is persisted.
// A change is processed again after a failure, never skipped: the reported patch and the state
// are idempotent. Every failed store call is logged at warn, counted
// (edge_router_store_errors_total) and retried with backoff; the follower never gives up and never
// takes the router down.
//
// Lifecycle: created by RunRouter, Start()ed once, stopped by the destructor (which cancels a
// watch in progress and joins the thread). ActiveRoutes and RouterMetrics outlive it.
#ifndef EDGE_SERVICES_ROUTER_DESIRED_FOLLOWER_H_
#define EDGE_SERVICES_ROUTER_DESIRED_FOLLOWER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/retry_backoff.h"
#include "common/twin_desired_follower.h"
#include "grpcpp/channel.h"
#include "nlohmann/json.hpp"
#include "services/router/active_routes.h"
#include "services/router/router_metrics.h"

namespace edge::router {

// The router's ServiceState namespace and the key of its persisted RouterState.
inline constexpr const char* kStateNamespace = "router";
inline constexpr const char* kStateKey = "routes";
// The hub's system module; its twin carries the routes.
inline constexpr const char* kEdgeHubModule = "$edgeHub";

// `<device>/$edgeHub`.
std::string EdgeHubTwinId(const std::string& device_id);

// The router's side of TwinDesiredFollower (common/twin_desired_follower.h): evaluates each
// `$edgeHub` desired version into ActiveRoutes and reports lastDesiredStatus.
class DesiredFollower final : private TwinDesiredFollower::Handler {
 public:
  DesiredFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id, RetryPolicy retry,
                  ActiveRoutes* routes, RouterMetrics* metrics);

  void Start() { follower_.Start(); }

 private:
  Loaded Load(const std::optional<std::string>& persisted) override;
  std::optional<std::string> Evaluate(int64_t version, const nlohmann::json& desired) override;
  std::string State(uint64_t cursor) override;

  const std::string twin_id_;
  ActiveRoutes* const routes_;
  RouterMetrics* const metrics_;
  RouterState state_;             // the follower's thread only
  TwinDesiredFollower follower_;  // last: stopped (joined) before the rest is destroyed
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_DESIRED_FOLLOWER_H_
