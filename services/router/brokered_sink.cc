#include "services/router/brokered_sink.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace edge::router {

std::optional<ModuleInput> ParseBrokeredEndpoint(const std::string& endpoint) {
  absl::string_view rest = endpoint;
  if (!absl::ConsumePrefix(&rest, "BrokeredEndpoint(\"/modules/") ||
      !absl::ConsumeSuffix(&rest, "\")")) {
    return std::nullopt;
  }
  const size_t inputs = rest.find("/inputs/");
  if (inputs == absl::string_view::npos || inputs == 0) return std::nullopt;
  ModuleInput target{std::string(rest.substr(0, inputs)), std::string(rest.substr(inputs + 8))};
  if (target.input.empty()) return std::nullopt;
  return target;
}

BrokeredSink::BrokeredSink(ModuleInput target, HubLink* link)
    : target_(std::move(target)), link_(link) {}

std::string BrokeredSink::Describe() const { return absl::StrCat("module ", target_.module); }

QueueSink::State BrokeredSink::Current() const {
  const HubLink::State link = link_->Current();
  State state;
  state.version = link.version;
  state.ready = link.attached && link.present.contains(target_.module);
  state.session = link.epoch;
  state.instance = link.instance_id;
  if (!link.attached) {
    state.waiting_for = "no hub attached";
  } else if (!state.ready) {
    state.waiting_for = absl::StrCat("waiting for module ", target_.module);
  }
  return state;
}

void BrokeredSink::WaitForChange(uint64_t version, absl::Duration timeout) const {
  link_->WaitForChange(version, timeout);
}

bool BrokeredSink::Send(common::v1::Message message, SendDone done) {
  v1::Delivery delivery;
  delivery.set_module(target_.module);
  delivery.set_input(target_.input);
  *delivery.mutable_message() = std::move(message);
  return link_->Send(
      std::move(delivery), [done = std::move(done)](bool delivered, const std::string& reason) {
        done(delivered ? SendOutcome::kDelivered : SendOutcome::kTransientFailure, reason);
      });
}

}  // namespace edge::router
