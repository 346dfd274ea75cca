#include "services/hub/plugin/broker_work_queue.h"

#include <utility>

namespace edge::hub {

BrokerWorkQueue::PostResult BrokerWorkQueue::Post(Task task) {
  absl::MutexLock lock(&mu_);
  if (closed_) return PostResult::kClosed;
  const bool first = tasks_.empty();
  tasks_.push_back({std::move(task), clock_->Now()});
  return first ? PostResult::kFirst : PostResult::kQueued;
}

int BrokerWorkQueue::Drain() {
  std::vector<Entry> batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(tasks_);
  }
  for (Entry& entry : batch) {
    const absl::Duration queued_for = clock_->Now() - entry.queued_at;
    last_latency_us_.store(absl::ToInt64Microseconds(queued_for));
    entry.task(queued_for);
  }
  return static_cast<int>(batch.size());
}

int BrokerWorkQueue::RunAndClose() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  return Drain();
}

}  // namespace edge::hub
