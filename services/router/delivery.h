// Delivery to module inputs: one QueueExecutor per store queue of a BrokeredEndpoint, started by
// the DeliveryManager as queues appear, sending through the hub's Attach stream (hub_link.h).
//
// An executor follows its queue in the store (ReadQueue, following appends) and sends each entry to
// its module's input while that module is present, in queue order, with at most `window`
// deliveries waiting for the hub's result. Results come back in any order; the executor tracks the
// longest acknowledged prefix of what it sent. Nothing is checkpointed in the store until it has
// been acknowledged for `replay_window`: the hub's ack means "handed to the broker", and a broker
// that dies loses what it held in memory, so a hub that comes back with a new instance id gets
// everything after the store's checkpoint again (DESIGN.md, "Attach contract"). Duplicates are
// possible; nothing acknowledged is lost.
//
// A "not delivered" result (the module went away, the session ended) rewinds the executor to the
// first unacknowledged entry and waits (1 s doubling to 60 s) before it sends again; presence
// changing back wakes it at once. `$upstream` queues have no executor yet (the upstream link is
// its own issue): they stay queued until their TTL.
//
// Example (RunRouter):
//   HubLink link;
//   DeliveryManager delivery(store_channel, &link, DeliveryOptions{});
//   delivery.Start();
//   ...
//   delivery.Stop();  // joins every executor
#ifndef EDGE_SERVICES_ROUTER_DELIVERY_H_
#define EDGE_SERVICES_ROUTER_DELIVERY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/retry_backoff.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "services/router/hub_link.h"

namespace edge::router {

struct DeliveryOptions {
  int window = 100;  // deliveries in flight per queue
  absl::Duration replay_window = absl::Seconds(10);
  RetryPolicy retry = {.initial = absl::Seconds(1), .max = absl::Seconds(60)};
  absl::Duration discovery_interval = absl::Seconds(1);  // how often the store's queues are listed
};

// The module and input of `BrokeredEndpoint("/modules/{module}/inputs/{input}")`; nullopt for any
// other endpoint.
struct ModuleInput {
  std::string module;
  std::string input;
};
std::optional<ModuleInput> ParseBrokeredEndpoint(const std::string& endpoint);

// What an executor is doing, for EndpointStats.
struct ExecutorStatus {
  std::string state;  // "delivering", "waiting for module m", "no hub attached", "retrying"
  std::string last_error;
  absl::Time last_error_at = absl::InfinitePast();
  uint64_t delivered = 0;  // acknowledged by the hub since the router started
  uint64_t in_flight = 0;
};

class QueueExecutor {
 public:
  QueueExecutor(store::v1::QueueId queue, ModuleInput target, std::shared_ptr<grpc::Channel> store,
                HubLink* link, DeliveryOptions options);
  ~QueueExecutor();

  void Start();
  // Cancels the store read and joins the thread.
  void Stop();
  // Writes the store checkpoint for what was acknowledged at least `replay_window` ago, if that
  // advanced it (called by the manager; not on the executor's thread).
  void PersistCheckpoint();
  // The hub's state changed (called by the manager): a read following the queue for a session
  // that ended, or for a module no longer present, is cancelled so the executor starts over.
  void OnLinkChanged(const HubLink::State& state);
  ExecutorStatus Status();

 private:
  struct Flight {
    uint64_t offset = 0;
    bool acked = false;
  };

  void Run();
  // Reads from `from` and sends while the module is present; returns when interrupted.
  void DeliverFrom(uint64_t from, uint64_t epoch);
  void OnResult(uint64_t generation, uint64_t offset, bool delivered, const std::string& reason);
  // Drops what is in flight and makes the next read start at the first unacknowledged entry.
  void RewindLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const store::v1::QueueId queue_;
  const ModuleInput target_;
  HubLink* const link_;
  const DeliveryOptions options_;
  std::unique_ptr<store::v1::MessageStore::Stub> store_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool rewind_ ABSL_GUARDED_BY(mu_) = false;         // a "not delivered" came back
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;     // results of older generations are stale
  uint64_t next_offset_ ABSL_GUARDED_BY(mu_) = 0;    // 0: after the store's checkpoint
  std::deque<Flight> flights_ ABSL_GUARDED_BY(mu_);  // sent, in order
  // Acknowledged prefix not yet checkpointed: offset and when its ack came.
  std::deque<std::pair<uint64_t, absl::Time>> acked_ ABSL_GUARDED_BY(mu_);
  bool retrying_ ABSL_GUARDED_BY(mu_) = false;  // pausing after "not delivered" or a read error
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* reading_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t reading_epoch_ ABSL_GUARDED_BY(mu_) = 0;  // the session `reading_` sends to
  absl::Mutex checkpoint_mu_;                        // one PersistCheckpoint at a time
};

class DeliveryManager {
 public:
  DeliveryManager(std::shared_ptr<grpc::Channel> store, HubLink* link, DeliveryOptions options);
  ~DeliveryManager();

  void Start();
  void Stop();
  // Executor status by QueueName (batch_router.h).
  std::map<std::string, ExecutorStatus> Status();

 private:
  void Run();
  void Discover();

  const std::shared_ptr<grpc::Channel> channel_;
  HubLink* const link_;
  const DeliveryOptions options_;
  std::unique_ptr<store::v1::MessageStore::Stub> store_;
  absl::Mutex mu_;
  // Added by the manager thread only; read by Status.
  std::map<std::string, std::unique_ptr<QueueExecutor>> executors_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_DELIVERY_H_
