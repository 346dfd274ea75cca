// StoreGrpcService: edge.store.v1.MessageStore over gRPC's callback API, a thin adapter onto
// QueueStore. Unary calls run on gRPC's threads; a ReadQueue stream is a FollowingStream that
// pages through the queue and, once caught up, waits for the store to say more was appended.
//
// Lifecycle: created by the store server before the gRPC server starts and destroyed after it; the
// StreamWaker it is given ends open ReadQueue streams at shutdown.
//
// Metrics (services/store/README.md, "Metrics"): what it appends, streams and checkpoints is
// counted as it happens; queue counts and expirations are read from the store at each scrape.
#ifndef EDGE_SERVICES_STORE_STORE_GRPC_SERVICE_H_
#define EDGE_SERVICES_STORE_STORE_GRPC_SERVICE_H_

#include <cstdint>
#include <memory>

#include "common/metrics.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "services/store/following_stream.h"
#include "services/store/queue_store.h"

namespace edge::store {

class StoreGrpcService final : public v1::MessageStore::CallbackService {
 public:
  // `metrics` (not owned) outlives the service; null keeps the counts private (tests that do not
  // look at them).
  // `waker` (not owned) resumes and ends the ReadQueue streams.
  StoreGrpcService(QueueStore* store, StreamWaker* waker, MetricsRegistry* metrics = nullptr);
  ~StoreGrpcService() override;

  grpc::ServerUnaryReactor* AppendMessages(grpc::CallbackServerContext* context,
                                           const v1::AppendMessagesRequest* request,
                                           v1::AppendMessagesResponse* response) override;
  grpc::ServerWriteReactor<v1::ReadQueueResponse>* ReadQueue(
      grpc::CallbackServerContext* context, const v1::ReadQueueRequest* request) override;
  grpc::ServerUnaryReactor* Checkpoint(grpc::CallbackServerContext* context,
                                       const v1::CheckpointRequest* request,
                                       v1::CheckpointResponse* response) override;
  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* context,
                                       const v1::ListQueuesRequest* request,
                                       v1::ListQueuesResponse* response) override;
  grpc::ServerUnaryReactor* GetStoreStats(grpc::CallbackServerContext* context,
                                          const v1::GetStoreStatsRequest* request,
                                          v1::StoreStats* response) override;

 private:
  friend  // Called by the store on an append (any thread): wakes reader `id` on the wake thread.
      void
      Wake(uint64_t id);
  void RunWakeThread();
  void Unregister(uint64_t id);
  // The collect hook: queue counts and expirations, read from the store at each scrape.
  void CollectQueueStats();

  // References into the registry; see the README for what each one means.
  struct Metrics {
    explicit Metrics(MetricsRegistry* registry);
    Counter& appended_messages;
    Counter& append_batches;
    Counter& duplicate_messages;
    Counter& read_entries;
    Gauge& read_streams;
    Counter& checkpoints;
    Counter& expired_entries;
    Counter& dropped_entries;
    Gauge& used_bytes;
    Gauge& queues;
    Gauge& queued_entries;
    Counter& stats_failures;
  };

  QueueStore* const store_;
  StreamWaker* const waker_;
  std::unique_ptr<MetricsRegistry> owned_metrics_;  // when none was given
  Metrics metrics_;
  CollectHook collect_hook_;  // last: removed before anything it reads goes away
};

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_STORE_GRPC_SERVICE_H_
