#include "services/store/store_grpc_service.h"

#include <atomic>
#include <utility>

#include "common/grpc_status.h"
#include "common/logging.h"

namespace edge::store {
namespace {

constexpr uint32_t kDefaultPageSize = 256;
constexpr uint32_t kMaxPageSize = 1000;

MetricsRegistry* OrOwn(MetricsRegistry* given, std::unique_ptr<MetricsRegistry>* owned) {
  if (given != nullptr) return given;
  *owned = std::make_unique<MetricsRegistry>();
  return owned->get();
}

}  // namespace

// The source of one ReadQueue stream: pages of the queue from `next`, then whatever is appended.
class QueueSource final : public FollowingStream<v1::ReadQueueResponse>::Source {
 public:
  QueueSource(QueueStore* store, QueueHandle queue, uint64_t next, uint32_t page_size,
              Counter* read_entries, Gauge* read_streams)
      : store_(store),
        queue_(std::move(queue)),
        next_(next),
        page_size_(page_size),
        waiter_id_(NewWaiterId()),
        read_entries_(read_entries),
        read_streams_(read_streams) {
    read_streams_->Increment();
  }
  ~QueueSource() override { read_streams_->Decrement(); }

  absl::StatusOr<bool> Next(v1::ReadQueueResponse* response) override {
    absl::StatusOr<QueuePage> page = store_->ReadPage(queue_, next_, page_size_);
    if (!page.ok()) {
      spdlog::warn("ReadQueue {} ended: {}", queue_.endpoint, page.status().ToString());
      return page.status();
    }
    next_ = page->next_offset;
    read_entries_->Increment(page->entries.size());
    for (auto& entry : page->entries) *response->add_entries() = std::move(entry);
    return !page->entries.empty();
  }

  bool Wait(std::function<void()> wake) override {
    return store_->NotifyWhenAppended(queue_, next_ - 1, waiter_id_, std::move(wake));
  }
  void CancelWait() override { store_->CancelNotify(queue_, waiter_id_); }

 private:
  QueueStore* const store_;
  const QueueHandle queue_;
  uint64_t next_;
  const uint32_t page_size_;
  const uint64_t waiter_id_;
  Counter* const read_entries_;
  Gauge* const read_streams_;
};

StoreGrpcService::Metrics::Metrics(MetricsRegistry* registry)
    : appended_messages(registry->AddCounter(
          "edge_store_appended_messages_total",
          "Messages stored by AppendMessages (each once, whatever the number of its queues).")),
      append_batches(registry->AddCounter(
          "edge_store_append_batches_total",
          "AppendMessages batches accepted, one transaction each (replays that added nothing "
          "included).")),
      duplicate_messages(registry->AddCounter(
          "edge_store_duplicate_messages_total",
          "Messages skipped because their journal had already delivered them (replays).")),
      read_entries(registry->AddCounter("edge_store_read_entries_total",
                                        "Queue entries sent on ReadQueue streams.")),
      read_streams(registry->AddGauge("edge_store_read_streams", "ReadQueue streams open now.")),
      checkpoints(registry->AddCounter("edge_store_checkpoints_total",
                                       "Checkpoint calls accepted (including ones behind the "
                                       "current checkpoint, which change nothing).")),
      expired_entries(registry->AddCounter(
          "edge_store_expired_entries_total",
          "Queue entries that expired before delivery, over the life of the database (read "
          "from the store at each scrape).")),
      dropped_entries(registry->AddCounter(
          "edge_store_dropped_entries_total",
          "Queue entries dropped by the drop-oldest policy before delivery, over the life of the "
          "database (read from the store at each scrape).")),
      used_bytes(registry->AddGauge(
          "edge_store_used_bytes",
          "Bytes the byte cap counts: stored messages plus a fixed overhead per queue entry.")),
      queues(registry->AddGauge("edge_store_queues", "Queues in the store (read at each scrape).")),
      queued_entries(registry->AddGauge(
          "edge_store_queued_entries",
          "Entries after their queue's checkpoint, expired ones included (read at each scrape).")),
      stats_failures(registry->AddCounter(
          "edge_store_metrics_collect_failures_total",
          "Scrapes for which the queue statistics could not be read (the previous values are "
          "served).")) {}

StoreGrpcService::StoreGrpcService(QueueStore* store, StreamWaker* waker, MetricsRegistry* metrics)
    : store_(store), waker_(waker), metrics_(OrOwn(metrics, &owned_metrics_)) {
  MetricsRegistry* registry = metrics != nullptr ? metrics : owned_metrics_.get();
  collect_hook_ = registry->AddCollectHook([this] { CollectQueueStats(); });
}

StoreGrpcService::~StoreGrpcService() { collect_hook_.Reset(); }

grpc::ServerUnaryReactor* StoreGrpcService::AppendMessages(grpc::CallbackServerContext* context,
                                                           const v1::AppendMessagesRequest* request,
                                                           v1::AppendMessagesResponse* response) {
  absl::StatusOr<v1::AppendMessagesResponse> result = store_->Append(*request);
  if (result.ok()) {
    metrics_.append_batches.Increment();
    metrics_.appended_messages.Increment(result->appended());
    metrics_.duplicate_messages.Increment(result->duplicates());
    *response = *std::move(result);
  }
  return FinishUnary(context, result.status());
}

grpc::ServerWriteReactor<v1::ReadQueueResponse>* StoreGrpcService::ReadQueue(
    grpc::CallbackServerContext* context, const v1::ReadQueueRequest* request) {
  (void)context;
  if (request->page_size() > kMaxPageSize) {
    return FailedStream<v1::ReadQueueResponse>(
        absl::InvalidArgumentError("page_size: at most 1000"));
  }
  absl::StatusOr<QueueHandle> queue =
      store_->FindQueue(request->queue(), request->create_if_missing());
  if (!queue.ok()) return FailedStream<v1::ReadQueueResponse>(queue.status());
  const uint64_t from =
      request->from_offset() != 0 ? request->from_offset() : store_->FirstUndelivered(*queue);
  auto* stream = new FollowingStream<v1::ReadQueueResponse>(
      waker_,
      std::make_unique<QueueSource>(
          store_, *queue, from, request->page_size() == 0 ? kDefaultPageSize : request->page_size(),
          &metrics_.read_entries, &metrics_.read_streams),
      request->stop_at_end());
  stream->Start();
  return stream;
}

grpc::ServerUnaryReactor* StoreGrpcService::Checkpoint(grpc::CallbackServerContext* context,
                                                       const v1::CheckpointRequest* request,
                                                       v1::CheckpointResponse* response) {
  absl::StatusOr<QueueHandle> queue = store_->FindQueue(request->queue(), /*create=*/false);
  if (!queue.ok()) return FinishUnary(context, queue.status());
  absl::StatusOr<uint64_t> checkpoint = store_->Checkpoint(*queue, request->offset());
  if (checkpoint.ok()) {
    metrics_.checkpoints.Increment();
    response->set_checkpoint(*checkpoint);
  }
  return FinishUnary(context, checkpoint.status());
}

grpc::ServerUnaryReactor* StoreGrpcService::ListQueues(grpc::CallbackServerContext* context,
                                                       const v1::ListQueuesRequest* request,
                                                       v1::ListQueuesResponse* response) {
  (void)request;
  absl::StatusOr<std::vector<v1::QueueInfo>> queues = store_->ListQueues();
  if (queues.ok()) {
    for (auto& q : *queues) *response->add_queues() = std::move(q);
  }
  return FinishUnary(context, queues.status());
}

grpc::ServerUnaryReactor* StoreGrpcService::GetStoreStats(grpc::CallbackServerContext* context,
                                                          const v1::GetStoreStatsRequest* request,
                                                          v1::StoreStats* response) {
  (void)request;
  absl::StatusOr<v1::StoreStats> stats = store_->GetStats();
  if (stats.ok()) *response = *std::move(stats);
  return FinishUnary(context, stats.status());
}

void StoreGrpcService::CollectQueueStats() {
  absl::StatusOr<std::vector<v1::QueueInfo>> queues = store_->ListQueues();
  if (!queues.ok()) {
    spdlog::warn("metrics: cannot read the queue statistics: {}", queues.status().ToString());
    metrics_.stats_failures.Increment();
    return;
  }
  uint64_t expired = 0;
  uint64_t dropped = 0;
  uint64_t queued = 0;
  for (const v1::QueueInfo& queue : *queues) {
    expired += queue.expired();
    dropped += queue.dropped();
    queued += queue.depth();
  }
  metrics_.dropped_entries.SetTotal(dropped);
  metrics_.used_bytes.Set(static_cast<double>(store_->used_bytes()));
  metrics_.queues.Set(static_cast<double>(queues->size()));
  metrics_.queued_entries.Set(static_cast<double>(queued));
  // The store keeps this count in the database, so it survives restarts: a counter whose total
  // is copied in rather than counted here.
  metrics_.expired_entries.SetTotal(expired);
}

}  // namespace edge::store
