// TwinDesiredFollower: keeps a service in step with one twin's desired properties, as DESIGN.md's
// "Who writes what" asks of the reconcilers (the router follows `$edgeHub`, the agent
// `$edgeAgent`).
//
// On its own thread it
//   1. reads the service's persisted state (a ServiceState entry) and hands it to the Handler,
//      which puts the last valid configuration in force and says which watch cursor and desired
//      version it holds — so a restarted service works as before without waiting for the watch;
//   2. watches TWIN_DESIRED changes of the twin from that cursor (a snapshot first when the cursor
//      is 0 or the store no longer has it), keeping the whole desired document current (patches
//      merged; a patch whose base it does not know makes it read the twin);
//   3. for every new desired version asks the Handler to evaluate the whole document (the Handler
//      applies it or rejects it whole), writes the reported-properties patch the Handler returns,
//      then persists the Handler's state with the change's sequence as the cursor.
// A change is processed again after a failure, never skipped: the reported patch and the state are
// idempotent. Every failed store call is logged at warn, counted (`store_errors{operation}`) and
// retried with backoff; the follower never gives up.
//
// Lifecycle: Start() once; the destructor cancels a call in progress and joins the thread. The
// Handler is called on the follower's thread only and must outlive it.
//
// Example:
//   TwinDesiredFollower follower(store, {.twin_id = "edge-1/$edgeHub", .state_namespace = "router",
//                                        .state_key = "routes", .retry = retry,
//                                        .store_errors = &metrics.store_errors},
//                                &routes_handler);
//   follower.Start();
#ifndef EDGE_COMMON_TWIN_DESIRED_FOLLOWER_H_
#define EDGE_COMMON_TWIN_DESIRED_FOLLOWER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "common/retry_backoff.h"
#include "edge/store/v1/state.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "edge/store/v1/watch.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"

namespace edge {

class TwinDesiredFollower {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;

    struct Loaded {
      uint64_t cursor = 0;            // the watch resumes after this sequence
      int64_t evaluated_version = 0;  // the desired version last evaluated (0: none)
    };
    // The persisted state (nullopt: none yet, or unreadable): put the configuration it holds in
    // force and say where the watch resumes.
    virtual Loaded Load(const std::optional<std::string>& persisted) = 0;
    // Evaluates desired version `version`, the whole document (discarded JSON when the stored text
    // was not JSON). Returns the reported-properties merge patch to write, if any.
    virtual std::optional<std::string> Evaluate(int64_t version, const nlohmann::json& desired) = 0;
    // The state to persist, the watch cursor being `cursor`.
    virtual std::string State(uint64_t cursor) = 0;
  };

  struct Options {
    std::string twin_id;
    std::string state_namespace;
    std::string state_key;
    RetryPolicy retry;
    CounterFamily<1>* store_errors = nullptr;  // by operation; may be null
  };

  TwinDesiredFollower(std::shared_ptr<grpc::Channel> store, Options options, Handler* handler);
  ~TwinDesiredFollower();

  void Start();

 private:
  void Run();
  absl::Status LoadState();
  // One watch stream, until it fails or the follower stops.
  absl::Status Watch();
  absl::Status UpdateDesired(const store::v1::Change& change);
  // Evaluates the document if not yet done, reports, and persists with `cursor`.
  absl::Status Settle(uint64_t cursor, bool force_evaluate);
  absl::Status Failed(const char* operation, const grpc::Status& status);
  bool SleepUnlessStopped(absl::Duration delay);

  class Call;  // one store call's context, cancellable by the destructor

  std::unique_ptr<store::v1::ServiceState::Stub> state_stub_;
  std::unique_ptr<store::v1::TwinStore::Stub> twin_stub_;
  std::unique_ptr<store::v1::ChangeFeed::Stub> watch_stub_;
  const Options options_;
  Handler* const handler_;

  // Used by the follower's thread only.
  RetryBackoff backoff_;
  bool loaded_ = false;
  uint64_t cursor_ = 0;
  nlohmann::json desired_;
  int64_t desired_version_ = 0;                // of desired_; 0: not known
  int64_t evaluated_version_ = 0;              // the desired version last evaluated
  std::optional<std::string> pending_report_;  // evaluated, not yet in the reported properties

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The calls in progress: the watch, and a call made while processing one of its changes.
  std::vector<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edge

#endif  // EDGE_COMMON_TWIN_DESIRED_FOLLOWER_H_
