#include "services/store/store_grpc_service.h"

#include <atomic>
#include <utility>

#include "common/grpc_status.h"
#include "common/logging.h"

namespace edge::store {
namespace {

constexpr uint32_t kDefaultPageSize = 256;
constexpr uint32_t kMaxPageSize = 1000;

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

MetricsRegistry* OrOwn(MetricsRegistry* given, std::unique_ptr<MetricsRegistry>* owned) {
  if (given != nullptr) return given;
  *owned = std::make_unique<MetricsRegistry>();
  return owned->get();
}

}  // namespace

// One ReadQueue stream. Pump() reads the next page and writes it, or, when caught up, registers
// with the store to be woken by the next append. Every StartWrite and the one Finish are issued
// under the state machine in mu_: at most one write in flight, nothing after Finish.
//
// Lifetime: reference-counted. gRPC holds one reference until OnDone; whoever calls Pump or End
// from outside a reaction holds another, taken under the service's registry lock.
class QueueReader final : public grpc::ServerWriteReactor<v1::ReadQueueResponse> {
 public:
  QueueReader(StoreGrpcService* service, uint64_t id, QueueHandle queue, uint64_t next,
              bool stop_at_end, uint32_t page_size)
      : service_(service),
        id_(id),
        queue_(std::move(queue)),
        next_(next),
        stop_at_end_(stop_at_end),
        page_size_(page_size) {}

  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void Pump() {
    while (true) {
      absl::ReleasableMutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (cancelled_ || !end_status_.ok()) {
        FinishLocked(lock, cancelled_ ? grpc::Status::CANCELLED : end_status_);
        return;
      }
      absl::StatusOr<QueuePage> page = service_->store_->ReadPage(queue_, next_, page_size_);
      if (!page.ok()) {
        spdlog::warn("ReadQueue {} ended: {}", queue_.endpoint, page.status().ToString());
        FinishLocked(lock, ToGrpcStatus(page.status()));
        return;
      }
      next_ = page->next_offset;
      if (!page->entries.empty()) {
        service_->metrics_.read_entries.Increment(page->entries.size());
        response_.Clear();
        for (auto& entry : page->entries) *response_.add_entries() = std::move(entry);
        writing_ = true;
        lock.Release();
        StartWrite(&response_);
        return;
      }
      if (stop_at_end_) {
        FinishLocked(lock, grpc::Status::OK);
        return;
      }
      StoreGrpcService* service = service_;
      const uint64_t id = id_;
      if (service_->store_->NotifyWhenAppended(queue_, next_ - 1, id_,
                                               [service, id] { service->Wake(id); })) {
        return;
      }
      // Something was appended between the read and the registration: read again.
    }
  }

  // Ends the stream with `status` (after the write in flight, if any).
  void End(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.ok()) end_status_ = status;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;  // the client went away
    }
    Ref();
    Pump();
    Unref();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Ref();
    Pump();
    Unref();
  }

  void OnDone() override {
    service_->store_->CancelNotify(queue_, id_);
    service_->Unregister(id_);
    Unref();
  }

 private:
  void FinishLocked(absl::ReleasableMutexLock& lock, const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    lock.Release();
    Finish(status);
  }

  StoreGrpcService* const service_;
  const uint64_t id_;
  const QueueHandle queue_;
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  const bool stop_at_end_;
  const uint32_t page_size_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  v1::ReadQueueResponse response_;
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
      queues(registry->AddGauge("edge_store_queues", "Queues in the store (read at each scrape).")),
      queued_entries(registry->AddGauge(
          "edge_store_queued_entries",
          "Entries after their queue's checkpoint, expired ones included (read at each scrape).")),
      stats_failures(registry->AddCounter(
          "edge_store_metrics_collect_failures_total",
          "Scrapes for which the queue statistics could not be read (the previous values are "
          "served).")) {}

StoreGrpcService::StoreGrpcService(QueueStore* store, MetricsRegistry* metrics)
    : store_(store),
      metrics_(OrOwn(metrics, &owned_metrics_)),
      wake_thread_([this] { RunWakeThread(); }) {
  MetricsRegistry* registry = metrics != nullptr ? metrics : owned_metrics_.get();
  collect_hook_ = registry->AddCollectHook([this] { CollectQueueStats(); });
}

StoreGrpcService::~StoreGrpcService() {
  collect_hook_.Reset();
  {
    absl::MutexLock lock(&mu_);
    stop_wake_thread_ = true;
  }
  wake_thread_.join();
}

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
  return Reply(context, result.status());
}

grpc::ServerWriteReactor<v1::ReadQueueResponse>* StoreGrpcService::ReadQueue(
    grpc::CallbackServerContext* context, const v1::ReadQueueRequest* request) {
  (void)context;
  absl::Status error;
  absl::StatusOr<QueueHandle> queue =
      store_->FindQueue(request->queue(), request->create_if_missing());
  if (!queue.ok()) error = queue.status();
  if (error.ok() && request->page_size() > kMaxPageSize) {
    error = absl::InvalidArgumentError("page_size: at most 1000");
  }
  uint64_t id = 0;
  QueueReader* reader = nullptr;
  if (error.ok()) {
    absl::MutexLock lock(&mu_);
    if (ending_) {
      error = absl::UnavailableError("the store is shutting down");
    } else {
      id = next_reader_id_++;
      uint64_t from =
          request->from_offset() != 0 ? request->from_offset() : store_->FirstUndelivered(*queue);
      reader = new QueueReader(this, id, *queue, from, request->stop_at_end(),
                               request->page_size() == 0 ? kDefaultPageSize : request->page_size());
      readers_[id] = reader;
      metrics_.read_streams.Increment();
      reader->Ref();  // for the Pump below
    }
  }
  if (!error.ok()) {
    // A reactor that only reports the error.
    class Failed final : public grpc::ServerWriteReactor<v1::ReadQueueResponse> {
     public:
      explicit Failed(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
      void OnDone() override { delete this; }
    };
    return new Failed(error);
  }
  reader->Pump();
  reader->Unref();
  return reader;
}

grpc::ServerUnaryReactor* StoreGrpcService::Checkpoint(grpc::CallbackServerContext* context,
                                                       const v1::CheckpointRequest* request,
                                                       v1::CheckpointResponse* response) {
  absl::StatusOr<QueueHandle> queue = store_->FindQueue(request->queue(), /*create=*/false);
  if (!queue.ok()) return Reply(context, queue.status());
  absl::StatusOr<uint64_t> checkpoint = store_->Checkpoint(*queue, request->offset());
  if (checkpoint.ok()) {
    metrics_.checkpoints.Increment();
    response->set_checkpoint(*checkpoint);
  }
  return Reply(context, checkpoint.status());
}

grpc::ServerUnaryReactor* StoreGrpcService::ListQueues(grpc::CallbackServerContext* context,
                                                       const v1::ListQueuesRequest* request,
                                                       v1::ListQueuesResponse* response) {
  (void)request;
  absl::StatusOr<std::vector<v1::QueueInfo>> queues = store_->ListQueues();
  if (queues.ok()) {
    for (auto& q : *queues) *response->add_queues() = std::move(q);
  }
  return Reply(context, queues.status());
}

void StoreGrpcService::EndStreams() {
  std::vector<QueueReader*> readers;
  {
    absl::MutexLock lock(&mu_);
    ending_ = true;
    for (auto& [id, reader] : readers_) {
      reader->Ref();
      readers.push_back(reader);
    }
  }
  if (!readers.empty()) spdlog::info("ending {} ReadQueue streams", readers.size());
  for (QueueReader* reader : readers) {
    reader->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store is shutting down"));
    reader->Unref();
  }
}

void StoreGrpcService::Wake(uint64_t id) {
  absl::MutexLock lock(&mu_);
  to_wake_.push_back(id);
}

void StoreGrpcService::RunWakeThread() {
  while (true) {
    QueueReader* reader = nullptr;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](StoreGrpcService* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return s->stop_wake_thread_ || !s->to_wake_.empty();
          },
          this));
      if (stop_wake_thread_) return;
      uint64_t id = to_wake_.front();
      to_wake_.pop_front();
      auto it = readers_.find(id);
      if (it == readers_.end()) continue;  // already done
      reader = it->second;
      reader->Ref();
    }
    reader->Pump();
    reader->Unref();
  }
}

void StoreGrpcService::Unregister(uint64_t id) {
  absl::MutexLock lock(&mu_);
  if (readers_.erase(id) > 0) metrics_.read_streams.Decrement();
}

void StoreGrpcService::CollectQueueStats() {
  absl::StatusOr<std::vector<v1::QueueInfo>> queues = store_->ListQueues();
  if (!queues.ok()) {
    spdlog::warn("metrics: cannot read the queue statistics: {}", queues.status().ToString());
    metrics_.stats_failures.Increment();
    return;
  }
  uint64_t expired = 0;
  uint64_t queued = 0;
  for (const v1::QueueInfo& queue : *queues) {
    expired += queue.expired();
    queued += queue.depth();
  }
  metrics_.queues.Set(static_cast<double>(queues->size()));
  metrics_.queued_entries.Set(static_cast<double>(queued));
  // The store keeps this count in the database, so it survives restarts: a counter whose total
  // is copied in rather than counted here.
  metrics_.expired_entries.SetTotal(expired);
}

}  // namespace edge::store
