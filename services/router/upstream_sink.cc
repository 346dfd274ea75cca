#include "services/router/upstream_sink.h"

namespace edge::router {

QueueSink::State NoUpstreamLinkSink::Current() const {
  State state;
  state.version = 1;
  state.waiting_for = kReason;
  state.fault = kReason;
  return state;
}

void NoUpstreamLinkSink::WaitForChange(uint64_t /*version*/, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&interrupted_), timeout);
}

bool NoUpstreamLinkSink::Send(common::v1::Message /*message*/, SendDone /*done*/) { return false; }

void NoUpstreamLinkSink::Interrupt() {
  absl::MutexLock lock(&mu_);
  interrupted_ = true;
}

}  // namespace edge::router
