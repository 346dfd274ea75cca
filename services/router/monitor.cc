#include "services/router/monitor.h"

#include <algorithm>
#include <utility>

namespace edge::router {

std::optional<v1::MonitorResponse> RoutedMessageMonitor::Subscription::Next() {
  absl::MutexLock lock(&mu_);
  v1::MonitorResponse response;
  if (dropped_ > 0) {
    response.mutable_dropped()->set_count(dropped_);
    dropped_ = 0;
    return response;
  }
  if (buffer_.empty()) return std::nullopt;
  *response.mutable_message() = std::move(buffer_.front());
  buffer_.pop_front();
  return response;
}

bool RoutedMessageMonitor::Subscription::Offer(const v1::RoutedMessage& message) {
  if (!endpoint_.empty()) {
    const auto& destinations = message.destinations();
    if (std::none_of(destinations.begin(), destinations.end(),
                     [this](const v1::Destination& d) { return d.endpoint() == endpoint_; })) {
      return true;  // not for this stream: nothing dropped
    }
  }
  absl::MutexLock lock(&mu_);
  if (buffer_.size() >= capacity_) {
    ++dropped_;
    return false;
  }
  buffer_.push_back(message);
  return true;
}

void RoutedMessageMonitor::Subscription::Notify() {
  absl::MutexLock lock(&callback_mu_);
  if (on_ready_) on_ready_();
}

std::shared_ptr<RoutedMessageMonitor::Subscription> RoutedMessageMonitor::Subscribe(
    std::string endpoint, size_t capacity, std::function<void()> on_ready) {
  std::shared_ptr<Subscription> subscription(
      new Subscription(std::move(endpoint), capacity, std::move(on_ready)));
  absl::MutexLock lock(&mu_);
  subscriptions_.push_back(subscription);
  subscribers_.store(static_cast<int>(subscriptions_.size()), std::memory_order_relaxed);
  if (metrics_ != nullptr)
    metrics_->monitor_streams.Set(static_cast<double>(subscriptions_.size()));
  return subscription;
}

void RoutedMessageMonitor::Unsubscribe(Subscription* subscription) {
  {
    absl::MutexLock lock(&mu_);
    subscriptions_.erase(std::remove_if(subscriptions_.begin(), subscriptions_.end(),
                                        [subscription](const std::shared_ptr<Subscription>& s) {
                                          return s.get() == subscription;
                                        }),
                         subscriptions_.end());
    subscribers_.store(static_cast<int>(subscriptions_.size()), std::memory_order_relaxed);
    if (metrics_ != nullptr) {
      metrics_->monitor_streams.Set(static_cast<double>(subscriptions_.size()));
    }
  }
  absl::MutexLock lock(&subscription->callback_mu_);
  subscription->on_ready_ = nullptr;
}

void RoutedMessageMonitor::Publish(const RoutedBatch& batch, absl::Time committed) {
  if (!active()) return;
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  {
    absl::MutexLock lock(&mu_);
    subscriptions = subscriptions_;
  }
  if (subscriptions.empty()) return;
  const int64_t committed_ms = absl::ToUnixMillis(committed);
  size_t index = 0;  // of the routed message, into batch.explanations
  for (const store::v1::AppendMessagesRequest& append : batch.appends) {
    for (int i = 0; i < append.messages_size(); ++i, ++index) {
      const store::v1::MessageToAppend& routed = append.messages(i);
      const common::v1::Message& message = routed.message();
      v1::RoutedMessage out;
      out.set_routed_unix_ms(committed_ms);
      *out.mutable_source() = message.source();
      for (const store::v1::QueueTarget& target : routed.queues()) {
        v1::Destination* destination = out.add_destinations();
        destination->set_endpoint(target.queue().endpoint());
        if (target.queue().has_priority()) destination->set_priority(target.queue().priority());
        destination->set_ttl_seconds(target.ttl_seconds());
      }
      if (index < batch.explanations.size()) {
        out.set_source_path(batch.explanations[index].source_path);
        for (const std::string& name : batch.explanations[index].routes) out.add_routes(name);
      }
      *out.mutable_system_properties() = message.system_properties();
      *out.mutable_application_properties() = message.application_properties();
      out.set_body_preview(message.body().substr(0, kBodyPreviewBytes));
      out.set_body_size(static_cast<uint32_t>(message.body().size()));
      out.set_edge_message_id(message.edge_message_id());
      out.set_journal_id(append.journal_id());
      out.set_sequence(append.first_sequence() + static_cast<uint64_t>(i));
      for (const std::shared_ptr<Subscription>& subscription : subscriptions) {
        if (!subscription->Offer(out) && metrics_ != nullptr) {
          metrics_->monitor_dropped_messages.Increment();
        }
      }
    }
  }
  for (const std::shared_ptr<Subscription>& subscription : subscriptions) subscription->Notify();
}

}  // namespace edge::router
