#include "services/router/delivery.h"

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "services/router/batch_router.h"

namespace edge::router {
namespace {

// How often a waiting executor looks at the hub's state again (it is also woken by changes).
constexpr absl::Duration kRecheck = absl::Milliseconds(200);
constexpr absl::Duration kManagerTick = absl::Milliseconds(100);

}  // namespace

std::optional<ModuleInput> ParseBrokeredEndpoint(const std::string& endpoint) {
  absl::string_view rest = endpoint;
  if (!absl::ConsumePrefix(&rest, "BrokeredEndpoint(\"/modules/") ||
      !absl::ConsumeSuffix(&rest, "\")")) {
    return std::nullopt;
  }
  const size_t inputs = rest.find("/inputs/");
  if (inputs == absl::string_view::npos || inputs == 0) return std::nullopt;
  ModuleInput target{std::string(rest.substr(0, inputs)), std::string(rest.substr(inputs + 8))};
  if (target.input.empty()) return std::nullopt;
  return target;
}

QueueExecutor::QueueExecutor(store::v1::QueueId queue, ModuleInput target,
                             std::shared_ptr<grpc::Channel> store, HubLink* link,
                             DeliveryOptions options)
    : queue_(std::move(queue)),
      target_(std::move(target)),
      link_(link),
      options_(std::move(options)),
      store_(store::v1::MessageStore::NewStub(std::move(store))) {}

QueueExecutor::~QueueExecutor() { Stop(); }

void QueueExecutor::Start() {
  thread_ = std::thread([this] { Run(); });
}

void QueueExecutor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (reading_ != nullptr) reading_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void QueueExecutor::RewindLocked() {
  if (!flights_.empty()) next_offset_ = flights_.front().offset;
  flights_.clear();
  ++generation_;
  if (reading_ != nullptr) reading_->TryCancel();
}

void QueueExecutor::Run() {
  RetryBackoff backoff(options_.retry);
  uint64_t epoch_seen = 0;
  std::string instance_seen;
  while (true) {
    const HubLink::State state = link_->Current();
    absl::Duration pause = absl::ZeroDuration();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      if (state.attached && state.epoch != epoch_seen) {
        if (!instance_seen.empty() && state.instance_id != instance_seen) {
          // The broker restarted: what it held is gone. Everything after the store's checkpoint
          // (the replay window) goes again.
          spdlog::info("router: hub instance changed; {} re-delivers from its checkpoint",
                       QueueName(queue_));
          next_offset_ = 0;
          acked_.clear();
          flights_.clear();
          ++generation_;
        } else {
          RewindLocked();
        }
        epoch_seen = state.epoch;
        instance_seen = state.instance_id;
        // A new session starts at once: the old one's "not delivered" answers need no pause.
        rewind_ = false;
        backoff.Reset();
      }
      if (rewind_) {
        rewind_ = false;
        retrying_ = true;
        pause = backoff.Next();
      } else {
        retrying_ = false;
      }
    }
    if (!state.attached || !state.present.contains(target_.module)) {
      link_->WaitForChange(state.version, kRecheck);
      continue;
    }
    if (pause > absl::ZeroDuration()) {
      // Presence changing (the module came back) ends the pause early.
      link_->WaitForChange(state.version, pause);
      continue;
    }
    uint64_t from;
    {
      absl::MutexLock lock(&mu_);
      from = next_offset_;
    }
    DeliverFrom(from, state.epoch);
  }
}

void QueueExecutor::DeliverFrom(uint64_t from, uint64_t epoch) {
  grpc::ClientContext context;
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || rewind_) return;
    reading_ = &context;
    reading_epoch_ = epoch;
    generation = generation_;
  }
  store::v1::ReadQueueRequest request;
  *request.mutable_queue() = queue_;
  request.set_from_offset(from);
  request.set_page_size(static_cast<uint32_t>(options_.window));
  std::unique_ptr<grpc::ClientReader<store::v1::ReadQueueResponse>> reader =
      store_->ReadQueue(&context, request);
  store::v1::ReadQueueResponse page;
  bool interrupted = false;
  while (!interrupted && reader->Read(&page)) {
    for (store::v1::QueueEntry& entry : *page.mutable_entries()) {
      // Room in the window, and still the same session with the module present.
      while (true) {
        const HubLink::State state = link_->Current();
        absl::MutexLock lock(&mu_);
        auto room = [this, generation]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stopping_ || generation_ != generation ||
                 flights_.size() < static_cast<size_t>(options_.window);
        };
        if (stopping_ || generation_ != generation || state.epoch != epoch ||
            !state.present.contains(target_.module)) {
          interrupted = true;
          break;
        }
        if (room()) break;
        mu_.AwaitWithTimeout(absl::Condition(&room), kRecheck);
      }
      if (interrupted) break;
      v1::Delivery delivery;
      delivery.set_module(target_.module);
      delivery.set_input(target_.input);
      *delivery.mutable_message() = std::move(*entry.mutable_message());
      const uint64_t offset = entry.offset();
      {
        absl::MutexLock lock(&mu_);
        flights_.push_back({offset, false});
        next_offset_ = offset + 1;
      }
      const bool sent =
          link_->Send(std::move(delivery),
                      [this, generation, offset](bool delivered, const std::string& reason) {
                        OnResult(generation, offset, delivered, reason);
                      });
      if (!sent) {
        absl::MutexLock lock(&mu_);
        if (generation_ == generation) RewindLocked();
        interrupted = true;
        break;
      }
    }
  }
  context.TryCancel();
  grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mu_);
  reading_ = nullptr;
  if (!interrupted && !stopping_ && generation_ == generation &&
      status.error_code() != grpc::StatusCode::CANCELLED) {
    // The store went away: read again after a pause.
    spdlog::warn("router: reading {} failed: {}", QueueName(queue_), status.error_message());
    last_error_ = absl::StrCat("reading the queue: ", status.error_message());
    last_error_at_ = absl::Now();
    RewindLocked();
    rewind_ = true;
  }
}

void QueueExecutor::OnResult(uint64_t generation, uint64_t offset, bool delivered,
                             const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (generation != generation_) return;  // a rewind made it stale
  if (!delivered) {
    spdlog::info("router: {} not delivered to module {} ({}); retrying from offset {}",
                 QueueName(queue_), target_.module, reason, offset);
    last_error_ = absl::StrCat("not delivered to module ", target_.module, ": ", reason);
    last_error_at_ = absl::Now();
    RewindLocked();
    rewind_ = true;
    return;
  }
  ++delivered_;
  for (Flight& flight : flights_) {
    if (flight.offset == offset) flight.acked = true;
  }
  const absl::Time now = absl::Now();
  while (!flights_.empty() && flights_.front().acked) {
    acked_.emplace_back(flights_.front().offset, now);
    flights_.pop_front();
  }
}

void QueueExecutor::OnLinkChanged(const HubLink::State& state) {
  absl::MutexLock lock(&mu_);
  if (reading_ != nullptr &&
      (state.epoch != reading_epoch_ || !state.present.contains(target_.module))) {
    reading_->TryCancel();
  }
}

ExecutorStatus QueueExecutor::Status() {
  const HubLink::State link = link_->Current();
  absl::MutexLock lock(&mu_);
  ExecutorStatus status;
  if (!link.attached) {
    status.state = "no hub attached";
  } else if (!link.present.contains(target_.module)) {
    status.state = absl::StrCat("waiting for module ", target_.module);
  } else if (retrying_) {
    status.state = "retrying";
  } else {
    status.state = "delivering";
  }
  status.last_error = last_error_;
  status.last_error_at = last_error_at_;
  status.delivered = delivered_;
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
    spdlog::warn("router: checkpointing {} at {} failed: {}", QueueName(queue_), offset,
                 status.error_message());
  }
}

DeliveryManager::DeliveryManager(std::shared_ptr<grpc::Channel> store, HubLink* link,
                                 DeliveryOptions options)
    : channel_(std::move(store)),
      link_(link),
      options_(std::move(options)),
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
  uint64_t link_version = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), kManagerTick)) break;
    }
    if (absl::Now() >= next_discovery) {
      Discover();
      next_discovery = absl::Now() + options_.discovery_interval;
    }
    // Only this thread changes the map, so it may walk it without the lock held.
    const HubLink::State state = link_->Current();
    for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) {
      if (state.version != link_version) executor->OnLinkChanged(state);
      executor->PersistCheckpoint();
    }
    link_version = state.version;
  }
  for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) executor->Stop();
  for (auto& [name, executor] : ABSL_TS_UNCHECKED_READ(executors_)) executor->PersistCheckpoint();
  absl::MutexLock lock(&mu_);
  executors_.clear();
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
    std::optional<ModuleInput> target = ParseBrokeredEndpoint(info.queue().endpoint());
    if (!target.has_value()) continue;
    const std::string name = QueueName(info.queue());
    if (ABSL_TS_UNCHECKED_READ(executors_).contains(name)) continue;
    spdlog::info("router: delivering {} to module {} input {}", name, target->module,
                 target->input);
    auto executor =
        std::make_unique<QueueExecutor>(info.queue(), *target, channel_, link_, options_);
    executor->Start();
    absl::MutexLock lock(&mu_);
    executors_.emplace(name, std::move(executor));
  }
}

}  // namespace edge::router
