#include "services/router/endpoint_scheduler.h"

#include <algorithm>

namespace edge::router {
namespace {

constexpr uint32_t kDefaultPriorityRank = 10;

}  // namespace

EndpointScheduler::EndpointScheduler(int window, int max_passed_over)
    : window_(static_cast<size_t>(std::max(window, 1))),
      max_passed_over_(std::max(max_passed_over, 1)) {}

int EndpointScheduler::Register(std::optional<uint32_t> priority) {
  absl::MutexLock lock(&mu_);
  QueueSlots& queue = queues_.emplace_back();
  queue.rank = priority.value_or(kDefaultPriorityRank);
  return static_cast<int>(queues_.size()) - 1;
}

void EndpointScheduler::SetBacklog(int id, bool backlog) {
  absl::MutexLock lock(&mu_);
  if (queues_[id].backlog == backlog) return;
  queues_[id].backlog = backlog;
  // A better queue that has nothing more to send no longer holds the worse ones back.
  if (!backlog) DispatchLocked();
}

bool EndpointScheduler::Acquire(int id, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  QueueSlots& queue = queues_[id];
  queue.waiting = true;
  queue.woken = false;
  DispatchLocked();
  auto answered = [&queue]() { return queue.granted || queue.woken; };
  mu_.AwaitWithTimeout(absl::Condition(&answered), timeout);
  if (queue.granted) {
    queue.granted = false;
    return true;
  }
  queue.waiting = false;
  return false;
}

void EndpointScheduler::Release(int id, size_t slots) {
  if (slots == 0) return;
  absl::MutexLock lock(&mu_);
  QueueSlots& queue = queues_[id];
  slots = std::min(slots, queue.held);
  queue.held -= slots;
  in_use_ -= slots;
  DispatchLocked();
}

void EndpointScheduler::Wake(int id) {
  absl::MutexLock lock(&mu_);
  queues_[id].woken = true;
}

size_t EndpointScheduler::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

size_t EndpointScheduler::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<size_t>(
      std::count_if(queues_.begin(), queues_.end(), [](const QueueSlots& q) { return q.waiting; }));
}

void EndpointScheduler::DispatchLocked() {
  while (in_use_ < window_) {
    // A queue passed over often enough goes first (the best of those); otherwise the best waiting
    // queue, unless a better one is about to ask.
    int chosen = -1;
    for (int i = 0; i < static_cast<int>(queues_.size()); ++i) {
      const QueueSlots& q = queues_[i];
      if (q.waiting && q.passed_over >= max_passed_over_ &&
          (chosen < 0 || q.rank < queues_[chosen].rank)) {
        chosen = i;
      }
    }
    if (chosen < 0) {
      for (int i = 0; i < static_cast<int>(queues_.size()); ++i) {
        const QueueSlots& q = queues_[i];
        if (q.waiting && (chosen < 0 || q.rank < queues_[chosen].rank)) chosen = i;
      }
      if (chosen < 0) return;
      for (const QueueSlots& q : queues_) {
        if (!q.waiting && q.backlog && q.rank < queues_[chosen].rank) return;
      }
    }
    QueueSlots& winner = queues_[chosen];
    winner.waiting = false;
    winner.granted = true;
    winner.passed_over = 0;
    ++winner.held;
    ++in_use_;
    for (QueueSlots& q : queues_) {
      if (q.waiting) ++q.passed_over;
    }
  }
}

}  // namespace edge::router
