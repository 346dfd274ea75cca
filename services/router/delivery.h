// Delivery: one QueueExecutor per store queue (endpoint × priority), started by the
// DeliveryManager as queues appear, each sending through its endpoint's QueueSink (queue_sink.h):
// a BrokeredSink for `BrokeredEndpoint("/modules/{m}/inputs/{i}")` (the hub's Attach stream), the
// UpstreamSink for `$upstream`. The executors of one endpoint share its EndpointScheduler
// (endpoint_scheduler.h): `window` entries in flight per endpoint, better priorities first.
//
// An executor follows its queue in the store (ReadQueue, following appends) and sends each entry
// while its sink is ready, in queue order, holding a slot of the endpoint's window per entry
// waiting for its result. Results come back in any order; the executor tracks the longest
// answered prefix of what it sent. Nothing is checkpointed in the store until it has been
// acknowledged for `replay_window`: the hub's ack means "handed to the broker", and a broker that
// dies loses what it held in memory, so a sink session with a new instance (a hub with a new
// instance id) gets everything after the store's checkpoint again (DESIGN.md, "Attach contract").
// Duplicates are possible; nothing acknowledged is lost.
//
// A transient failure (the module went away, the session ended, the link dropped) rewinds the
// executor to the first unanswered entry and pauses it (1 s doubling to 60 s, back to 1 s after a
// success) before it sends again; the sink's state changing ends the pause early. Other queues are
// not held up. A rejected entry (non-transient) is counted, logged and passed over. Entries whose
// TTL passed are never sent (the store counts them as expired).
//
// Example (RunRouter):
//   HubLink link;
//   NoUpstreamLinkSink upstream;
//   DeliveryManager delivery(store_channel, &link, &upstream, DeliveryOptions{}, &metrics);
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
#include "services/router/brokered_sink.h"
#include "services/router/endpoint_scheduler.h"
#include "services/router/hub_link.h"
#include "services/router/queue_sink.h"
#include "services/router/router_metrics.h"
#include "services/router/upstream_sink.h"

namespace edge::router {

struct DeliveryOptions {
  int window = 100;  // entries in flight per endpoint, shared by its priority queues
  absl::Duration replay_window = absl::Seconds(10);
  RetryPolicy retry = {.initial = absl::Seconds(1), .max = absl::Seconds(60)};
  absl::Duration discovery_interval = absl::Seconds(1);  // how often the store's queues are listed
  // A queue waiting for a slot gets one after at most this many went to other queues of its
  // endpoint (a lower priority is slowed, never starved).
  int max_passed_over = 10;
};

// What an executor is doing, for EndpointStats.
struct ExecutorStatus {
  // "delivering", "retrying", or the sink's waiting_for ("waiting for module m", "no hub
  // attached", "no upstream link configured").
  std::string state;
  std::string last_error;
  absl::Time last_error_at = absl::InfinitePast();
  uint64_t delivered = 0;  // acknowledged since the router started
  uint64_t rejected = 0;   // refused for good by the endpoint (dropped) since the router started
  uint64_t in_flight = 0;
};

// Lifecycle: created and started by the DeliveryManager's thread; Stop joins its thread. The
// sink, scheduler and metrics outlive it.
class QueueExecutor {
 public:
  // `metrics` may be null.
  QueueExecutor(store::v1::QueueId queue, QueueSink* sink, EndpointScheduler* scheduler,
                std::shared_ptr<grpc::Channel> store, DeliveryOptions options,
                RouterMetrics* metrics);
  ~QueueExecutor();

  void Start();
  // Asks the thread to stop without waiting (so many executors stop at once).
  void RequestStop();
  // RequestStop and join the thread.
  void Stop();
  // Writes the store checkpoint for what was acknowledged at least `replay_window` ago, if that
  // advanced it (called by the manager; not on the executor's thread).
  void PersistCheckpoint();
  // Called by the manager when the sink may have changed: a read that follows the queue for a
  // session that ended is cancelled, so the executor starts over in the new one.
  void OnSinkChanged();
  ExecutorStatus Status();

 private:
  struct Flight {
    uint64_t offset = 0;
    bool answered = false;
  };

  void Run();
  // Reads from `from` and sends in `session`; returns when interrupted or when the read ends.
  void DeliverFrom(uint64_t from, uint64_t session);
  // Waits until the sink is ready in `session` and the scheduler grants a slot, then records
  // `offset` as in flight. False when interrupted (stop, rewind, another session).
  bool AwaitSlot(uint64_t generation, uint64_t session, uint64_t offset);
  void OnResult(uint64_t generation, uint64_t offset, SendOutcome outcome,
                const std::string& reason);
  // Marks the flight at `offset` answered (of `generation`; stale otherwise) and moves the
  // answered prefix to acked_, giving its slots back.
  void SettleLocked(uint64_t generation, uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops what is in flight (giving its slots back) and makes the next read start at the first
  // unanswered entry.
  void RewindLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const store::v1::QueueId queue_;
  const std::string name_;  // QueueName(queue_), for logs
  QueueSink* const sink_;
  EndpointScheduler* const scheduler_;
  const int slot_;  // the queue's id in scheduler_
  const DeliveryOptions options_;
  RouterMetrics* const metrics_;
  std::unique_ptr<store::v1::MessageStore::Stub> store_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool rewind_ ABSL_GUARDED_BY(mu_) = false;         // a transient failure came back
  bool succeeded_ ABSL_GUARDED_BY(mu_) = false;      // an ack since the last pause
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;     // results of older generations are stale
  uint64_t next_offset_ ABSL_GUARDED_BY(mu_) = 0;    // 0: after the store's checkpoint
  std::deque<Flight> flights_ ABSL_GUARDED_BY(mu_);  // sent, in order; one slot each
  // Answered prefix not yet checkpointed: offset and when its answer came.
  std::deque<std::pair<uint64_t, absl::Time>> acked_ ABSL_GUARDED_BY(mu_);
  bool retrying_ ABSL_GUARDED_BY(mu_) = false;  // pausing after a failure
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* reading_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t reading_session_ ABSL_GUARDED_BY(mu_) = 0;  // the session `reading_` sends in
  absl::Mutex checkpoint_mu_;                          // one PersistCheckpoint at a time
};

// Lifecycle: created by RunRouter; Start launches its thread, which lists the store's queues
// every `discovery_interval` and starts an executor for each new one; Stop joins everything. The
// HubLink, the UpstreamSink and the metrics outlive it.
class DeliveryManager {
 public:
  // `metrics` may be null.
  DeliveryManager(std::shared_ptr<grpc::Channel> store, HubLink* link, UpstreamSink* upstream,
                  DeliveryOptions options, RouterMetrics* metrics = nullptr);
  ~DeliveryManager();

  void Start();
  void Stop();
  // Executor status by QueueName (batch_router.h).
  std::map<std::string, ExecutorStatus> Status();
  // Any thread: the store committed `request`. A queue without an executor yet (a route's first
  // message) is looked for at once rather than at the next discovery, so its first delivery does
  // not wait up to `discovery_interval`.
  void OnAppended(const store::v1::AppendMessagesRequest& request);

 private:
  // The sink and scheduler every priority queue of one endpoint shares.
  struct Endpoint {
    std::unique_ptr<QueueSink> owned_sink;  // a BrokeredSink; null for $upstream
    QueueSink* sink = nullptr;
    std::unique_ptr<EndpointScheduler> scheduler;
  };

  void Run();
  void Discover();

  const std::shared_ptr<grpc::Channel> channel_;
  HubLink* const link_;
  UpstreamSink* const upstream_;
  const DeliveryOptions options_;
  RouterMetrics* const metrics_;
  std::unique_ptr<store::v1::MessageStore::Stub> store_;
  std::map<std::string, Endpoint> endpoints_;  // by endpoint; the manager thread's only
  absl::Mutex mu_;
  // Added by the manager thread only; read by Status.
  std::map<std::string, std::unique_ptr<QueueExecutor>> executors_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool discover_now_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_DELIVERY_H_
