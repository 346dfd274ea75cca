// BrokerWorkQueue: how worker threads (gRPC) get work done on the broker thread.
//
// The broker's plugin API is not thread-safe (docs/mosquitto-2.0.11.md), so anything that touches
// it is posted here and run by the TICK callback. Post reports whether the queue was empty, so the
// caller wakes the broker only once per batch (WakeClient). Drain measures each task's "queued →
// TICK ran" latency and keeps the last value.
//
// Example:
//   if (queue.Post([] { mosquitto_broker_publish(...); }) == PostResult::kFirst) wake.Wake();
//   // on the broker thread, in TICK:
//   queue.Drain();
//
// Thread-safe. Post from any thread; Drain and RunAndClose from the broker thread only.
#ifndef EDGE_SERVICES_HUB_PLUGIN_BROKER_WORK_QUEUE_H_
#define EDGE_SERVICES_HUB_PLUGIN_BROKER_WORK_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace edge::hub {

class BrokerWorkQueue {
 public:
  // A task runs on the broker thread; `queued_for` is how long it waited.
  using Task = std::function<void(absl::Duration queued_for)>;

  enum class PostResult {
    kFirst,   // the queue was empty: wake the broker
    kQueued,  // a wake-up is already on its way
    kClosed,  // the hub is shutting down: the task was not queued and will not run
  };

  // `clock` (not owned) outlives the queue.
  explicit BrokerWorkQueue(Clock* clock) : clock_(clock) {}

  PostResult Post(Task task);

  // Runs every queued task in order, outside the lock (a task may Post). Returns how many ran.
  int Drain();

  // Stops accepting tasks and runs the ones still queued. For plugin cleanup.
  int RunAndClose();

  // The last task's queued → ran latency, in microseconds; -1 before the first.
  int64_t last_latency_us() const { return last_latency_us_.load(); }

 private:
  struct Entry {
    Task task;
    absl::Time queued_at;
  };

  Clock* const clock_;
  absl::Mutex mu_;
  std::vector<Entry> tasks_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> last_latency_us_{-1};
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_BROKER_WORK_QUEUE_H_
