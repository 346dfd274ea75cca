#include "services/router/hub_link.h"

#include <utility>
#include <vector>

namespace edge::router {

HubLink::State HubLink::Current() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void HubLink::WaitForChange(uint64_t version, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, version]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return state_.version != version || interrupted_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

void HubLink::Interrupt() {
  absl::MutexLock lock(&mu_);
  interrupted_ = true;
}

void HubLink::EndSession(const std::string& why) {
  std::vector<ResultCallback> abandoned;
  for (auto& [id, done] : pending_) abandoned.push_back(std::move(done));
  pending_.clear();
  sink_ = nullptr;
  state_.attached = false;
  state_.epoch = 0;
  state_.present.clear();
  ++state_.version;
  // Callbacks may take other locks (an executor's): run them without ours.
  mu_.Unlock();
  for (ResultCallback& done : abandoned) done(false, why);
  mu_.Lock();
}

void HubLink::Attach(DeliverySink* sink, const std::string& instance_id) {
  absl::MutexLock lock(&mu_);
  if (sink_ != nullptr && sink_ != sink) {
    // Under the lock: the old stream detaches (and is deleted) only after this returns.
    sink_->Replace();
    EndSession("the hub attached again");
  }
  sink_ = sink;
  state_.attached = true;
  state_.epoch = ++epochs_;
  state_.instance_id = instance_id;
  state_.present.clear();
  ++state_.version;
}

void HubLink::Detach(DeliverySink* sink) {
  absl::MutexLock lock(&mu_);
  if (sink_ == sink) EndSession("the hub detached");
}

void HubLink::SetPresence(DeliverySink* sink, absl::flat_hash_set<std::string> modules) {
  absl::MutexLock lock(&mu_);
  if (sink_ != sink) return;
  state_.present = std::move(modules);
  ++state_.version;
}

bool HubLink::Send(v1::Delivery delivery, ResultCallback done) {
  absl::MutexLock lock(&mu_);
  if (sink_ == nullptr) return false;
  const uint64_t id = next_delivery_id_++;
  delivery.set_delivery_id(id);
  // Under the lock, so the stream cannot detach (and be deleted) meanwhile; Write only queues.
  if (!sink_->Write(std::move(delivery))) return false;
  pending_[id] = std::move(done);
  return true;
}

void HubLink::OnResult(DeliverySink* sink, const v1::DeliveryResult& result) {
  ResultCallback done;
  {
    absl::MutexLock lock(&mu_);
    if (sink_ != sink) return;
    auto it = pending_.find(result.delivery_id());
    if (it == pending_.end()) return;  // unknown or answered already
    done = std::move(it->second);
    pending_.erase(it);
  }
  done(result.delivered(), result.reason());
}

}  // namespace edge::router
