// EndpointScheduler: the delivery window of one endpoint, shared by the executors of its priority
// queues (one QueueExecutor per endpoint × priority, delivery.h). Every entry in flight holds one
// of `window` slots until its result comes back. A free slot goes to the waiting queue of the best
// priority (0 first, 9, then the default priority) — and it is not given to a lower-priority
// queue while a better one has entries in hand that it is about to ask for — except that a queue
// that has seen `max_passed_over` slots go to others while it waited gets the next one: a lower
// priority slows down under a steady higher-priority load but never stops.
//
// Thread-safe. Created by the DeliveryManager with the endpoint's first queue; outlives its
// executors.
//
// Example (an executor):
//   int id = scheduler.Register(queue.has_priority() ? std::optional(queue.priority()) : nullopt);
//   scheduler.SetBacklog(id, true);                  // entries read, about to be sent
//   if (scheduler.Acquire(id, absl::Milliseconds(200))) Send(...);
//   ...
//   scheduler.Release(id, 1);                        // its result came back
#ifndef EDGE_SERVICES_ROUTER_ENDPOINT_SCHEDULER_H_
#define EDGE_SERVICES_ROUTER_ENDPOINT_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace edge::router {

class EndpointScheduler {
 public:
  // `window` >= 1 slots; `max_passed_over` >= 1.
  EndpointScheduler(int window, int max_passed_over);

  // A queue of the endpoint; nullopt is the default priority (after 9). Returns its id.
  int Register(std::optional<uint32_t> priority);
  // Whether queue `id` holds entries it will ask slots for. While a better queue has a backlog,
  // worse ones only get slots by having been passed over.
  void SetBacklog(int id, bool backlog);
  // Waits up to `timeout` for a slot for queue `id`; true when one was granted (it must be given
  // back with Release). False on timeout or Wake. One Acquire per queue at a time.
  bool Acquire(int id, absl::Duration timeout);
  // Queue `id` gives back `slots` slots (results came back, or it rewound).
  void Release(int id, size_t slots);
  // Ends a waiting Acquire of queue `id` (it rewound or is stopping).
  void Wake(int id);

  // Slots held now, and queues waiting in Acquire now: for tests and stats.
  size_t in_use() const;
  size_t waiting() const;

 private:
  struct QueueSlots {
    uint32_t rank = 0;  // the priority; the default priority is 10
    bool backlog = false;
    bool waiting = false;
    bool granted = false;
    bool woken = false;
    int passed_over = 0;
    size_t held = 0;
  };

  void DispatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t window_;
  const int max_passed_over_;
  mutable absl::Mutex mu_;
  // A deque: a waiting Acquire keeps a reference to its element while others register.
  std::deque<QueueSlots> queues_ ABSL_GUARDED_BY(mu_);
  size_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ENDPOINT_SCHEDULER_H_
