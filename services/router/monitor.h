// RoutedMessageMonitor: fans the messages the router has just routed out to Monitor streams, each
// through its own bounded buffer, so that a slow reader loses messages (counted, and told so)
// instead of slowing ingest. No gRPC here: the Monitor reactor (router_grpc_service.cc) drains a
// Subscription.
//
// Cost: with no subscriber, Publish is one atomic load; the Ingest stream asks `active()` before
// routing a batch so that route names are only worked out (RouteTable::Explain) while someone
// watches.
//
// Thread-safe.
//
// Example:
//   RoutedMessageMonitor monitor(&metrics);
//   auto subscription = monitor.Subscribe("$upstream", 1000, [&] { WakeWriter(); });
//   monitor.Publish(routed_batch, absl::Now());                 // from Ingest, after the commit
//   std::optional<v1::MonitorResponse> next = subscription->Next();  // from the writer
//   monitor.Unsubscribe(subscription.get());                    // no callback after this returns
#ifndef EDGE_SERVICES_ROUTER_MONITOR_H_
#define EDGE_SERVICES_ROUTER_MONITOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "edge/router/v1/router.pb.h"
#include "services/router/batch_router.h"
#include "services/router/router_metrics.h"

namespace edge::router {

class RoutedMessageMonitor {
 public:
  // How many bytes of a body a RoutedMessage carries.
  static constexpr size_t kBodyPreviewBytes = 128;
  static constexpr size_t kDefaultBuffer = 1000;
  static constexpr size_t kMaxBuffer = 100000;

  class Subscription {
   public:
    // The next response for the stream: a MonitorDropped first when messages were dropped since
    // the last one, then the buffered messages in order; nullopt when there is nothing.
    std::optional<v1::MonitorResponse> Next();

   private:
    friend class RoutedMessageMonitor;
    Subscription(std::string endpoint, size_t capacity, std::function<void()> on_ready)
        : endpoint_(std::move(endpoint)), capacity_(capacity), on_ready_(std::move(on_ready)) {}
    // Buffers the message if it is for this stream; false when the buffer is full (counted as
    // dropped).
    bool Offer(const v1::RoutedMessage& message);
    void Notify();

    const std::string endpoint_;  // empty: every message
    const size_t capacity_;
    absl::Mutex mu_;
    std::deque<v1::RoutedMessage> buffer_ ABSL_GUARDED_BY(mu_);
    uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
    // Held while on_ready_ runs, so that Unsubscribe waits for a running callback.
    absl::Mutex callback_mu_;
    std::function<void()> on_ready_ ABSL_GUARDED_BY(callback_mu_);
  };

  // `metrics` may be null.
  explicit RoutedMessageMonitor(RouterMetrics* metrics = nullptr) : metrics_(metrics) {}

  // True while at least one stream is subscribed.
  bool active() const { return subscribers_.load(std::memory_order_relaxed) > 0; }

  // A new stream: messages for `endpoint` (empty: all), at most `capacity` held. `on_ready` is
  // called (on the publishing thread, with no lock of the monitor held) after messages were
  // added; it should only start the stream's next write.
  std::shared_ptr<Subscription> Subscribe(std::string endpoint, size_t capacity,
                                          std::function<void()> on_ready);
  // Removes the stream; once this returns, its on_ready is not running and is never called again.
  void Unsubscribe(Subscription* subscription);

  // The routed messages of a committed batch (RouteBatch with explain for route names).
  void Publish(const RoutedBatch& batch, absl::Time committed);

 private:
  RouterMetrics* const metrics_;
  std::atomic<int> subscribers_{0};
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_MONITOR_H_
