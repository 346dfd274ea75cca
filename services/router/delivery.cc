#include "services/router/delivery.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "services/router/batch_router.h"

namespace edge::router {
namespace {

// How often a waiting executor looks at its sink and its stop flag again (it is also woken by
// changes).
constexpr absl::Duration kRecheck = absl::Milliseconds(200);
constexpr absl::Duration kManagerTick = absl::Milliseconds(100);
// Entries read per page. At least this many even with a small window, so that a queue's backlog
// stays in hand (and keeps its priority in the endpoint's scheduler) across page boundaries.
constexpr int kMinPageSize = 64;

bool Expired(const store::v1::QueueEntry& entry) {
  return entry.expires_unix_ms() != 0 && absl::ToUnixMillis(absl::Now()) >= entry.expires_unix_ms();
}

}  // namespace

QueueExecutor::QueueExecutor(store::v1::QueueId queue, QueueSink* sink,
                             EndpointScheduler* scheduler, std::shared_ptr<grpc::Channel> store,
                             DeliveryOptions options, RouterMetrics* metrics)
    : queue_(std::move(queue)),
      name_(QueueName(queue_)),
      sink_(sink),
      scheduler_(scheduler),
      slot_(scheduler->Register(queue_.has_priority() ? std::optional<uint32_t>(queue_.priority())
                                                      : std::nullopt)),
      options_(std::move(options)),
      metrics_(metrics),
      store_(store::v1::MessageStore::NewStub(std::move(store))) {}

QueueExecutor::~QueueExecutor() { Stop(); }

void QueueExecutor::Start() {
  thread_ = std::thread([this] { Run(); });
}

void QueueExecutor::RequestStop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  if (reading_ != nullptr) reading_->TryCancel();
  scheduler_->Wake(slot_);
}

void QueueExecutor::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void QueueExecutor::RewindLocked() {
  if (!flights_.empty()) next_offset_ = flights_.front().offset;
  scheduler_->Release(slot_, flights_.size());
  flights_.clear();
  ++generation_;
  scheduler_->Wake(slot_);
  if (reading_ != nullptr) reading_->TryCancel();
}

void QueueExecutor::Run() {
  RetryBackoff backoff(options_.retry);
  uint64_t session_seen = 0;
  std::string instance_seen;
  while (true) {
    const QueueSink::State state = sink_->Current();
    absl::Duration pause = absl::ZeroDuration();
    uint64_t from;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      if (state.session != 0 && state.session != session_seen) {
        if (!instance_seen.empty() && state.instance != instance_seen) {
          // The peer restarted: what it held is gone. Everything after the store's checkpoint
          // (the replay window) goes again.
          spdlog::info("router: {} is a new instance ({}); {} re-delivers from its checkpoint",
                       sink_->Describe(), state.instance, name_);
          RewindLocked();
          next_offset_ = 0;
          acked_.clear();
        } else {
          RewindLocked();
        }
        session_seen = state.session;
        instance_seen = state.instance;
        // A new session starts at once: the old one's "not delivered" answers need no pause.
        rewind_ = false;
        backoff.Reset();
      }
      if (rewind_) {
        rewind_ = false;
        retrying_ = true;
        if (succeeded_) backoff.Reset();
        succeeded_ = false;
        pause = backoff.Next();
      } else {
        retrying_ = false;
      }
      from = next_offset_;
    }
    if (pause > absl::ZeroDuration()) {
      // The sink changing (the module came back, the link reconnected) ends the pause early.
      sink_->WaitForChange(state.version, pause);
      continue;
    }
    // Read even while the sink is not ready: the entries in hand wait for it, and the endpoint's
    // scheduler knows this queue has a backlog when it becomes ready.
    DeliverFrom(from, session_seen);
  }
}

bool QueueExecutor::AwaitSlot(uint64_t generation, uint64_t session, uint64_t offset) {
  while (true) {
    const QueueSink::State state = sink_->Current();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || generation_ != generation) return false;
    }
    // Ready in another session: Run rewinds (or replays) first.
    if (state.ready && state.session != session) return false;
    if (!state.ready) {
      sink_->WaitForChange(state.version, kRecheck);
      continue;
    }
    if (!scheduler_->Acquire(slot_, kRecheck)) continue;
    absl::MutexLock lock(&mu_);
    if (stopping_ || generation_ != generation) {
      scheduler_->Release(slot_, 1);
      return false;
    }
    flights_.push_back({offset, false});
    next_offset_ = offset + 1;
    return true;
  }
}

void QueueExecutor::DeliverFrom(uint64_t from, uint64_t session) {
  grpc::ClientContext context;
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || rewind_) return;
    reading_ = &context;
    reading_session_ = session;
    generation = generation_;
  }
  absl::Cleanup no_backlog = [this] { scheduler_->SetBacklog(slot_, false); };
  store::v1::ReadQueueRequest request;
  *request.mutable_queue() = queue_;
  request.set_from_offset(from);
  request.set_page_size(static_cast<uint32_t>(std::max(options_.window, kMinPageSize)));
  std::unique_ptr<grpc::ClientReader<store::v1::ReadQueueResponse>> reader =
      store_->ReadQueue(&context, request);
  store::v1::ReadQueueResponse page;
  bool interrupted = false;
  while (!interrupted && reader->Read(&page)) {
    if (page.entries().empty()) continue;
    scheduler_->SetBacklog(slot_, true);
    for (store::v1::QueueEntry& entry : *page.mutable_entries()) {
      const uint64_t offset = entry.offset();
      if (Expired(entry)) {
        // Never sent (the store counts it); a later checkpoint covers it.
        absl::MutexLock lock(&mu_);
        if (generation_ != generation) {
          interrupted = true;
          break;
        }
        next_offset_ = offset + 1;
        continue;
      }
      if (!AwaitSlot(generation, session, offset)) {
        interrupted = true;
        break;
      }
      if (Expired(entry)) {
        // It expired while it waited for the sink or a slot.
        absl::MutexLock lock(&mu_);
        SettleLocked(generation, offset);
        continue;
      }
      const bool sent =
          sink_->Send(std::move(*entry.mutable_message()),
                      [this, generation, offset](SendOutcome outcome, const std::string& reason) {
                        OnResult(generation, offset, outcome, reason);
                      });
      if (!sent) {
        // The session is closing under us: start over after a pause (a new session ends it).
        absl::MutexLock lock(&mu_);
        if (generation_ == generation) {
          RewindLocked();
          rewind_ = true;
        }
        interrupted = true;
        break;
      }
    }
    scheduler_->SetBacklog(slot_, false);
  }
  context.TryCancel();
  grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mu_);
  reading_ = nullptr;
  if (!interrupted && !stopping_ && generation_ == generation &&
      status.error_code() != grpc::StatusCode::CANCELLED) {
    // The store went away: read again after a pause.
    spdlog::warn("router: reading {} failed: {}", name_, status.error_message());
    last_error_ = absl::StrCat("reading the queue: ", status.error_message());
    last_error_at_ = absl::Now();
    RewindLocked();
    rewind_ = true;
  }
}

void QueueExecutor::OnResult(uint64_t generation, uint64_t offset, SendOutcome outcome,
                             const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (generation != generation_) return;  // a rewind made it stale
  switch (outcome) {
    case SendOutcome::kTransientFailure:
      spdlog::info("router: {} offset {} not delivered to {} ({}); retrying from there", name_,
                   offset, sink_->Describe(), reason);
      last_error_ = absl::StrCat("not delivered to ", sink_->Describe(), ": ", reason);
      last_error_at_ = absl::Now();
      if (metrics_ != nullptr) metrics_->delivery_failures.Increment();
      RewindLocked();
      rewind_ = true;
      return;
    case SendOutcome::kRejected:
      spdlog::warn("router: {} offset {} rejected by {} and dropped: {}", name_, offset,
                   sink_->Describe(), reason);
      last_error_ = absl::StrCat("rejected by ", sink_->Describe(), " (dropped): ", reason);
      last_error_at_ = absl::Now();
      ++rejected_;
      if (metrics_ != nullptr) metrics_->rejected_deliveries.Increment();
      break;
    case SendOutcome::kDelivered:
      ++delivered_;
      succeeded_ = true;
      if (metrics_ != nullptr) metrics_->deliveries.Increment();
      break;
  }
  SettleLocked(generation, offset);
}

void QueueExecutor::SettleLocked(uint64_t generation, uint64_t offset) {
  if (generation != generation_) return;
  for (Flight& flight : flights_) {
    if (flight.offset == offset) flight.answered = true;
  }
  const absl::Time now = absl::Now();
  size_t done = 0;
  while (!flights_.empty() && flights_.front().answered) {
    acked_.emplace_back(flights_.front().offset, now);
    flights_.pop_front();
    ++done;
  }
  scheduler_->Release(slot_, done);
}

void QueueExecutor::OnSinkChanged() {
  const QueueSink::State state = sink_->Current();
  absl::MutexLock lock(&mu_);
  if (reading_ != nullptr && state.ready && state.session != reading_session_) {
    reading_->TryCancel();
  }
}

ExecutorStatus QueueExecutor::Status() {
  const QueueSink::State sink = sink_->Current();
  absl::MutexLock lock(&mu_);
  ExecutorStatus status;
  if (!sink.ready) {
    status.state = sink.waiting_for;
  } else if (retrying_) {
    status.state = "retrying";
  } else {
    status.state = "delivering";
  }
  status.last_error = last_error_;
  status.last_error_at = last_error_at_;
  if (!sink.ready && !sink.fault.empty() && last_error_.empty()) status.last_error = sink.fault;
  status.delivered = delivered_;
  status.rejected = rejected_;
  status.in_flight = flights_.size();
  return status;
}

void QueueExecutor::PersistCheckpoint() {
  absl::MutexLock checkpointing(&checkpoint_mu_);
  uint64_t offset = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time cutoff = absl::Now() - options_.replay_window;
    while (!acked_.empty() && acked_.front().second <= cutoff) {
      offset = acked_.front().first;
      acked_.pop_front();
    }
  }
  if (offset == 0) return;
  store::v1::CheckpointRequest request;
  *request.mutable_queue() = queue_;
  request.set_offset(offset);
  grpc::ClientContext context;
  SetLocalCallDeadline(context);
  store::v1::CheckpointResponse response;
  grpc::Status status = store_->Checkpoint(&context, request, &response);
  if (!status.ok()) {
    // The next acknowledged entry's checkpoint covers this one too.
    spdlog::warn("router: checkpointing {} at {} failed: {}", name_, offset,
                 status.error_message());
  }
}

DeliveryManager::DeliveryManager(std::shared_ptr<grpc::Channel> store, HubLink* link,
                                 UpstreamSink* upstream, DeliveryOptions options,
                                 RouterMetrics* metrics)
    : channel_(std::move(store)),
      link_(link),
      upstream_(upstream),
      options_(std::move(options)),
      metrics_(metrics),
      store_(store::v1::MessageStore::NewStub(channel_)) {}

DeliveryManager::~DeliveryManager() { Stop(); }

void DeliveryManager::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DeliveryManager::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void DeliveryManager::Run() {
  absl::Time next_discovery = absl::InfinitePast();
  const auto woken = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || discover_now_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&woken), kManagerTick);
      if (stopping_) break;
      if (std::exchange(discover_now_, false)) next_discovery = absl::InfinitePast();
    }
    if (absl::Now() >= next_discovery) {
      Discover();
      next_discovery = absl::Now() + options_.discovery_interval;
    }
    // Only this thread changes the map, so it may walk it without the lock held.
    for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) {
      executor->OnSinkChanged();
      executor->PersistCheckpoint();
    }
  }
  for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) executor->RequestStop();
  for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) executor->Stop();
  for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) executor->PersistCheckpoint();
  absl::MutexLock lock(&mu_);
  executors_.clear();
}

void DeliveryManager::OnAppended(const store::v1::AppendMessagesRequest& request) {
  absl::MutexLock lock(&mu_);
  if (discover_now_) return;
  for (const store::v1::MessageToAppend& message : request.messages()) {
    for (const store::v1::QueueTarget& target : message.queues()) {
      if (!executors_.contains(QueueName(target.queue()))) {
        discover_now_ = true;
        return;
      }
    }
  }
}

std::map<std::string, ExecutorStatus> DeliveryManager::Status() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, ExecutorStatus> all;
  for (auto& [name, executor] : executors_) all[name] = executor->Status();
  return all;
}

void DeliveryManager::Discover() {
  grpc::ClientContext context;
  SetLocalCallDeadline(context);
  store::v1::ListQueuesResponse queues;
  if (!store_->ListQueues(&context, store::v1::ListQueuesRequest(), &queues).ok()) return;
  for (const store::v1::QueueInfo& info : queues.queues()) {
    const std::string name = QueueName(info.queue());
    if (ABSL_TS_UNCHECKED_READ(executors_).contains(name)) continue;
    const std::string& endpoint_name = info.queue().endpoint();
    auto found = endpoints_.find(endpoint_name);
    if (found == endpoints_.end()) {
      Endpoint endpoint;
      if (endpoint_name == "$upstream") {
        endpoint.sink = upstream_;
      } else if (std::optional<ModuleInput> target = ParseBrokeredEndpoint(endpoint_name)) {
        endpoint.owned_sink = std::make_unique<BrokeredSink>(*target, link_);
        endpoint.sink = endpoint.owned_sink.get();
      } else {
        continue;  // not an endpoint the route language can name
      }
      endpoint.scheduler =
          std::make_unique<EndpointScheduler>(options_.window, options_.max_passed_over);
      found = endpoints_.emplace(endpoint_name, std::move(endpoint)).first;
    }
    spdlog::info("router: delivering {}", name);
    auto executor = std::make_unique<QueueExecutor>(info.queue(), found->second.sink,
                                                    found->second.scheduler.get(), channel_,
                                                    options_, metrics_);
    executor->Start();
    absl::MutexLock lock(&mu_);
    executors_.emplace(name, std::move(executor));
  }
}

}  // namespace edge::router
