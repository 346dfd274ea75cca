#include "services/hub/plugin/hub_grpc_service.h"

#include "common/grpc_status.h"
#include "services/hub/plugin/hub_plugin.h"

namespace edge::hub {

grpc::ServerUnaryReactor* HubGrpcService::GetHubInfo(grpc::CallbackServerContext* context,
                                                     const v1::GetHubInfoRequest* /*request*/,
                                                     v1::HubInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  plugin_->QueryStatus([reactor, response](absl::StatusOr<HubStatus> status) {
    if (!status.ok()) {
      reactor->Finish(ToGrpcStatus(status.status()));
      return;
    }
    response->set_instance_id(status->instance_id);
    response->set_broker_pid(status->broker_pid);
    for (const auto& [kind, address] : status->listeners) {
      v1::Listener* listener = response->add_listeners();
      listener->set_kind(kind);
      listener->set_address(address);
    }
    response->set_uptime_seconds(absl::ToDoubleSeconds(status->uptime));
    response->set_last_wake_latency_us(status->last_wake_latency_us);
    response->set_ticks(status->ticks);
    response->set_connected_clients(status->connected_clients);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace edge::hub
