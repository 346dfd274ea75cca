#include "services/hub/plugin/attach_link.h"

#include <utility>

#include "common/logging.h"

namespace edge::hub {

AttachLink::AttachLink(std::shared_ptr<grpc::Channel> router, std::string instance_id,
                       DeliverFn deliver, MetricsRegistry& metrics, RetryPolicy retry)
    : stub_(router::v1::Router::NewStub(router)),
      instance_id_(std::move(instance_id)),
      deliver_(std::move(deliver)),
      retry_(retry),
      deliveries_(metrics.AddCounter("edge_hub_attach_deliveries_total",
                                     "Module-input deliveries received from the router.")),
      stream_failures_(metrics.AddCounter(
          "edge_hub_attach_stream_failures_total",
          "Attach streams to the router that broke (the link reconnects; the router re-sends).")) {}

AttachLink::~AttachLink() { Stop(); }

void AttachLink::Start() {
  thread_ = std::thread([this] { Run(); });
}

void AttachLink::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
    changed_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void AttachLink::SetPresence(std::vector<std::string> modules) {
  absl::MutexLock lock(&mu_);
  presence_ = std::move(modules);
  presence_changed_ = true;
  changed_.SignalAll();
}

void AttachLink::Result(uint64_t session, uint64_t delivery_id, bool delivered,
                        std::string reason) {
  absl::MutexLock lock(&mu_);
  if (session != session_ || call_ == nullptr) return;
  router::v1::DeliveryResult& result = results_.emplace_back();
  result.set_delivery_id(delivery_id);
  result.set_delivered(delivered);
  result.set_reason(std::move(reason));
  changed_.SignalAll();
}

void AttachLink::Run() {
  RetryBackoff backoff(retry_);
  while (true) {
    if (Session()) backoff.Reset();
    absl::MutexLock lock(&mu_);
    const absl::Time until = absl::Now() + backoff.Next();
    while (!stopping_) {
      if (changed_.WaitWithDeadline(&mu_, until)) break;
    }
    if (stopping_) return;
  }
}

bool AttachLink::Session() {
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  uint64_t session = 0;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    call_ = &context;
    session = ++session_;
    broken_ = false;
    received_ = false;
    results_.clear();
    presence_changed_ = true;  // a new stream starts with the whole set
  }
  const absl::Time started = absl::Now();
  std::unique_ptr<Stream> stream = stub_->Attach(&context);
  router::v1::AttachRequest hello;
  hello.mutable_hello()->set_instance_id(instance_id_);
  bool write_failed = !stream->Write(hello);
  std::thread reader([this, &stream, session] { ReadDeliveries(stream.get(), session); });

  while (!write_failed) {
    std::vector<router::v1::AttachRequest> outgoing;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && !broken_ && !presence_changed_ && results_.empty()) {
        changed_.Wait(&mu_);
      }
      if (stopping_ || broken_) break;
      // Presence before the results that follow it: a result never names a module the router
      // has not heard is present.
      if (presence_changed_) {
        // mutable_presence even for no module: an empty set is a presence too.
        router::v1::Presence* presence = outgoing.emplace_back().mutable_presence();
        for (const std::string& module : presence_) presence->add_modules(module);
        presence_changed_ = false;
      }
      if (!results_.empty()) {
        router::v1::DeliveryResults* batch = outgoing.emplace_back().mutable_results();
        for (router::v1::DeliveryResult& result : results_)
          *batch->add_results() = std::move(result);
        results_.clear();
      }
    }
    for (const router::v1::AttachRequest& request : outgoing) {
      if (!stream->Write(request)) {
        write_failed = true;
        break;
      }
    }
  }

  {
    // A stream the router ended has its status waiting; cancelling would replace it.
    absl::MutexLock lock(&mu_);
    if (!broken_) context.TryCancel();
  }
  reader.join();
  const grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  call_ = nullptr;
  results_.clear();
  if (!stopping_) {
    stream_failures_.Increment();
    spdlog::warn("hub: the Attach stream to the router ended: {}", status.error_message());
  }
  // A stream that lived a while worked: the next one starts from the shortest backoff.
  return received_ || absl::Now() - started > absl::Seconds(1);
}

void AttachLink::ReadDeliveries(Stream* stream, uint64_t session) {
  router::v1::AttachResponse response;
  while (stream->Read(&response)) {
    {
      absl::MutexLock lock(&mu_);
      received_ = true;
    }
    deliveries_.Increment(response.deliveries_size());
    std::vector<router::v1::Delivery> batch(
        std::make_move_iterator(response.mutable_deliveries()->begin()),
        std::make_move_iterator(response.mutable_deliveries()->end()));
    deliver_(std::move(batch), session);
  }
  absl::MutexLock lock(&mu_);
  broken_ = true;
  changed_.SignalAll();
}

}  // namespace edge::hub
