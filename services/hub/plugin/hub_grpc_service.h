// HubGrpcService: edge.hub.v1.Hub over the callback API; a thin adapter over HubPlugin.
//
// Created and owned by HubPlugin; its handlers run on gRPC threads and finish on the broker thread
// (QueryStatus, InvokeMethod, ...), never blocking a gRPC thread while they wait for TICK or for a
// client's answer.
#ifndef EDGE_SERVICES_HUB_PLUGIN_HUB_GRPC_SERVICE_H_
#define EDGE_SERVICES_HUB_PLUGIN_HUB_GRPC_SERVICE_H_

#include "edge/hub/v1/hub.grpc.pb.h"

namespace edge::hub {

class HubPlugin;

class HubGrpcService final : public v1::Hub::CallbackService {
 public:
  // `plugin` (not owned) outlives the service.
  explicit HubGrpcService(HubPlugin* plugin) : plugin_(plugin) {}

  grpc::ServerUnaryReactor* GetHubInfo(grpc::CallbackServerContext* context,
                                       const v1::GetHubInfoRequest* request,
                                       v1::HubInfo* response) override;
  grpc::ServerUnaryReactor* InvokeMethod(grpc::CallbackServerContext* context,
                                         const v1::InvokeMethodRequest* request,
                                         v1::InvokeMethodResponse* response) override;
  grpc::ServerUnaryReactor* SendC2D(grpc::CallbackServerContext* context,
                                    const v1::SendC2DRequest* request,
                                    v1::SendC2DResponse* response) override;
  grpc::ServerUnaryReactor* ListClients(grpc::CallbackServerContext* context,
                                        const v1::ListClientsRequest* request,
                                        v1::ListClientsResponse* response) override;
  grpc::ServerUnaryReactor* DisconnectClient(grpc::CallbackServerContext* context,
                                             const v1::DisconnectClientRequest* request,
                                             v1::DisconnectClientResponse* response) override;

 private:
  HubPlugin* const plugin_;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_HUB_GRPC_SERVICE_H_
