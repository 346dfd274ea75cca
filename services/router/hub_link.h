// HubLink: the router's side of the hub's Attach stream, shared by the stream (which feeds it
// hello, presence and delivery results) and the queue executors (which send deliveries through it
// and wait for presence to change).
//
// One hub session at a time: a newer Attach replaces the older one. Every session gets a new
// `epoch`; the hub's `instance_id` says whether the broker restarted (its in-memory queues are
// gone), which makes executors re-deliver their replay window. When a session ends, every
// delivery still waiting for its result is answered "not delivered".
//
// Thread-safe.
//
// Example (an executor):
//   HubLink::State state = link.Current();
//   if (state.attached && state.present.contains("filter")) {
//     link.Send(delivery, [&](bool delivered, std::string reason) { ... });
//   }
//   link.WaitForChange(state.version, absl::Seconds(1));
#ifndef EDGE_SERVICES_ROUTER_HUB_LINK_H_
#define EDGE_SERVICES_ROUTER_HUB_LINK_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "edge/router/v1/router.pb.h"

namespace edge::router {

// Where a session's deliveries go: the Attach stream's writer. HubLink calls both methods with its
// lock held, so they must only queue or cancel and never call back into HubLink.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  // Queues `delivery` for writing to the hub; false when the stream is closing.
  virtual bool Write(v1::Delivery delivery) = 0;
  // Ends the stream (a newer session replaced it).
  virtual void Replace() = 0;
};

class HubLink {
 public:
  // The delivery's outcome: delivered, or why not.
  using ResultCallback = std::function<void(bool delivered, const std::string& reason)>;

  struct State {
    uint64_t version = 0;  // changes with every attach, detach and presence update
    bool attached = false;
    uint64_t epoch = 0;  // the session's number; 0 while none
    std::string instance_id;
    absl::flat_hash_set<std::string> present;
  };

  State Current() const;
  // Blocks until the state's version differs from `version`, `timeout` passes or Interrupt.
  void WaitForChange(uint64_t version, absl::Duration timeout) const;
  // Wakes every WaitForChange (shutdown).
  void Interrupt();

  // A hello on `sink`'s stream: it becomes the session (a previous one is replaced and its
  // pending deliveries answered "not delivered").
  void Attach(DeliverySink* sink, const std::string& instance_id);
  // The stream of `sink` ended; nothing if it is not the session any more.
  void Detach(DeliverySink* sink);
  void SetPresence(DeliverySink* sink, absl::flat_hash_set<std::string> modules);

  // Sends through the current session. False (and `done` is not called) when there is none or it
  // is closing. Otherwise `done` is called exactly once: with the hub's result, or "not
  // delivered" when the session ends first.
  bool Send(v1::Delivery delivery, ResultCallback done);
  // A result from `sink`'s stream.
  void OnResult(DeliverySink* sink, const v1::DeliveryResult& result);

 private:
  void EndSession(const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
  DeliverySink* sink_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t next_delivery_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t epochs_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, ResultCallback> pending_ ABSL_GUARDED_BY(mu_);
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_HUB_LINK_H_
