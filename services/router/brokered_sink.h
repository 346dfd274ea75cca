// BrokeredSink: the QueueSink of `BrokeredEndpoint("/modules/{module}/inputs/{input}")` — each
// message goes to the hub's Attach stream (hub_link.h) as a Delivery for that module input. Ready
// while a hub is attached and the module is present; a session is one Attach stream, its instance
// the hub's instance id. The hub's "not delivered" is a transient failure.
//
// Thread-safe. The HubLink outlives it.
//
// Example:
//   std::optional<ModuleInput> target = ParseBrokeredEndpoint(queue.endpoint());
//   if (target) sink = std::make_unique<BrokeredSink>(*target, &hub_link);
#ifndef EDGE_SERVICES_ROUTER_BROKERED_SINK_H_
#define EDGE_SERVICES_ROUTER_BROKERED_SINK_H_

#include <optional>
#include <string>

#include "services/router/hub_link.h"
#include "services/router/queue_sink.h"

namespace edge::router {

// The module and input of `BrokeredEndpoint("/modules/{module}/inputs/{input}")`.
struct ModuleInput {
  std::string module;
  std::string input;
};
// nullopt for any other endpoint.
std::optional<ModuleInput> ParseBrokeredEndpoint(const std::string& endpoint);

class BrokeredSink final : public QueueSink {
 public:
  BrokeredSink(ModuleInput target, HubLink* link);

  std::string Describe() const override;
  State Current() const override;
  void WaitForChange(uint64_t version, absl::Duration timeout) const override;
  bool Send(common::v1::Message message, SendDone done) override;

 private:
  const ModuleInput target_;
  HubLink* const link_;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_BROKERED_SINK_H_
