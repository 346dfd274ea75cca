// gRPC adapters for the Registry: edge.store.v1.TwinStore, IdentityRegistry, ServiceState and
// ChangeFeed, on the callback API. Each unary call converts the request, calls the Registry and
// converts the status once; a Watch is a FollowingStream over the snapshot and the change log.
//
// Lifecycle: created by the store server before the gRPC server starts and destroyed after it;
// the StreamWaker they share ends open watches at shutdown.
#ifndef EDGE_SERVICES_STORE_REGISTRY_GRPC_SERVICE_H_
#define EDGE_SERVICES_STORE_REGISTRY_GRPC_SERVICE_H_

#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/state.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "edge/store/v1/watch.grpc.pb.h"
#include "services/store/following_stream.h"
#include "services/store/registry.h"

namespace edge::store {

class TwinGrpcService final : public v1::TwinStore::CallbackService {
 public:
  explicit TwinGrpcService(Registry* registry) : registry_(registry) {}
  grpc::ServerUnaryReactor* GetTwin(grpc::CallbackServerContext* context,
                                    const v1::GetTwinRequest* request, v1::Twin* response) override;
  grpc::ServerUnaryReactor* ReplaceDesired(grpc::CallbackServerContext* context,
                                           const v1::ReplaceDesiredRequest* request,
                                           v1::Twin* response) override;
  grpc::ServerUnaryReactor* PatchDesired(grpc::CallbackServerContext* context,
                                         const v1::PatchTwinRequest* request,
                                         v1::Twin* response) override;
  grpc::ServerUnaryReactor* PatchReported(grpc::CallbackServerContext* context,
                                          const v1::PatchTwinRequest* request,
                                          v1::Twin* response) override;

 private:
  Registry* const registry_;
};

class IdentityGrpcService final : public v1::IdentityRegistry::CallbackService {
 public:
  explicit IdentityGrpcService(Registry* registry) : registry_(registry) {}
  grpc::ServerUnaryReactor* CreateIdentity(grpc::CallbackServerContext* context,
                                           const v1::CreateIdentityRequest* request,
                                           v1::Identity* response) override;
  grpc::ServerUnaryReactor* GetIdentity(grpc::CallbackServerContext* context,
                                        const v1::GetIdentityRequest* request,
                                        v1::Identity* response) override;
  grpc::ServerUnaryReactor* ListIdentities(grpc::CallbackServerContext* context,
                                           const v1::ListIdentitiesRequest* request,
                                           v1::ListIdentitiesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateIdentity(grpc::CallbackServerContext* context,
                                           const v1::UpdateIdentityRequest* request,
                                           v1::Identity* response) override;
  grpc::ServerUnaryReactor* DeleteIdentity(grpc::CallbackServerContext* context,
                                           const v1::DeleteIdentityRequest* request,
                                           v1::DeleteIdentityResponse* response) override;

 private:
  Registry* const registry_;
};

class StateGrpcService final : public v1::ServiceState::CallbackService {
 public:
  explicit StateGrpcService(Registry* registry) : registry_(registry) {}
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const v1::GetStateRequest* request,
                                v1::StateEntry* response) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const v1::PutStateRequest* request,
                                v1::StateEntry* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteStateRequest* request,
                                   v1::DeleteStateResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListStateRequest* request,
                                 v1::ListStateResponse* response) override;

 private:
  Registry* const registry_;
};

class ChangeFeedGrpcService final : public v1::ChangeFeed::CallbackService {
 public:
  ChangeFeedGrpcService(Registry* registry, StreamWaker* waker)
      : registry_(registry), waker_(waker) {}
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* context,
                                                     const v1::WatchRequest* request) override;

 private:
  Registry* const registry_;
  StreamWaker* const waker_;
};

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_REGISTRY_GRPC_SERVICE_H_
