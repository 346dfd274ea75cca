// DesiredFollower: keeps the router's configuration in step with the `$edgeHub` twin's desired
// properties (DESIGN.md, "Who writes what": the router acts only on the store's watch).
//
// On its thread it
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

#include <memory>
#include <optional>
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

class DesiredFollower {
 public:
  DesiredFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id, RetryPolicy retry,
                  ActiveRoutes* routes, RouterMetrics* metrics);
  ~DesiredFollower();

  void Start();

 private:
  void Run();
  // Reads the persisted state and loads it into routes_.
  absl::Status LoadState();
  // One watch stream, until it fails or the follower stops.
  absl::Status Watch();
  // Brings desired_ up to date with one change; GetTwin when a patch's base is unknown.
  absl::Status UpdateDesired(const store::v1::Change& change);
  // Evaluates desired_ if not yet done, reports and persists with `cursor`.
  absl::Status Settle(uint64_t cursor, bool force_evaluate);
  absl::Status Report();
  absl::Status Persist();
  // Records a failed call; the caller returns it.
  absl::Status Failed(const char* operation, const grpc::Status& status);
  // Sleeps `delay` unless stopped first; false when stopping.
  bool SleepUnlessStopped(absl::Duration delay);

  // One store call's context, registered so that the destructor can cancel it.
  class Call;

  std::unique_ptr<store::v1::ServiceState::Stub> state_stub_;
  std::unique_ptr<store::v1::TwinStore::Stub> twin_stub_;
  std::unique_ptr<store::v1::ChangeFeed::Stub> watch_stub_;
  const std::string twin_id_;
  ActiveRoutes* const routes_;
  RouterMetrics* const metrics_;

  // Used by the follower's thread only.
  RetryBackoff backoff_;
  bool loaded_ = false;
  RouterState state_;
  // The desired document as the watch has built it, and its version (0: not known).
  nlohmann::json desired_;
  int64_t desired_version_ = 0;
  // The desired version last evaluated.
  int64_t evaluated_version_ = 0;
  // The status in state_ is not in the reported properties yet.
  bool report_pending_ = false;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The calls in progress: the watch, and a call made while processing one of its changes.
  std::vector<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_DESIRED_FOLLOWER_H_
