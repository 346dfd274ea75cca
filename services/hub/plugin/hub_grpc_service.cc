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

grpc::ServerUnaryReactor* HubGrpcService::InvokeMethod(grpc::CallbackServerContext* context,
                                                       const v1::InvokeMethodRequest* request,
                                                       v1::InvokeMethodResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  MethodCall call{
      .target = request->target(),
      .method = request->method(),
      .payload_json = request->payload_json(),
      .timeout = absl::Seconds(request->timeout_seconds() == 0 ? 30 : request->timeout_seconds())};
  plugin_->InvokeMethod(std::move(call), [reactor, response](absl::StatusOr<MethodResult> result) {
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    response->set_status(result->status);
    response->set_payload_json(result->payload_json);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* HubGrpcService::SendC2D(grpc::CallbackServerContext* context,
                                                  const v1::SendC2DRequest* request,
                                                  v1::SendC2DResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  MessageProperties properties;
  properties.system.insert(request->system_properties().begin(),
                           request->system_properties().end());
  properties.application.insert(request->properties().begin(), request->properties().end());
  plugin_->SendC2D(request->device(), request->body(), std::move(properties),
                   [reactor, response](absl::StatusOr<bool> queued) {
                     if (!queued.ok()) return reactor->Finish(ToGrpcStatus(queued.status()));
                     response->set_queued(*queued);
                     reactor->Finish(grpc::Status::OK);
                   });
  return reactor;
}

grpc::ServerUnaryReactor* HubGrpcService::ListClients(grpc::CallbackServerContext* context,
                                                      const v1::ListClientsRequest* /*request*/,
                                                      v1::ListClientsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  plugin_->ListClients([reactor, response](absl::StatusOr<std::vector<ClientState>> clients) {
    if (!clients.ok()) return reactor->Finish(ToGrpcStatus(clients.status()));
    for (const ClientState& client : *clients) {
      v1::Client* out = response->add_clients();
      out->set_client_id(client.client_id);
      out->set_identity(client.identity.ToString());
      out->set_auth_method(std::string(AuthMethodName(client.method)));
      out->set_protocol_version(client.protocol_version);
      out->set_connected_since_unix_ms(absl::ToUnixMillis(client.connected_at));
      for (const std::string& filter : client.subscriptions) out->add_subscriptions(filter);
      out->set_clean_session(client.clean_session);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* HubGrpcService::DisconnectClient(
    grpc::CallbackServerContext* context, const v1::DisconnectClientRequest* request,
    v1::DisconnectClientResponse* /*response*/) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  plugin_->DisconnectClient(request->client_id(), [reactor](absl::Status status) {
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace edge::hub
