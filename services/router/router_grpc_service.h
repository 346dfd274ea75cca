// RouterGrpcService: edge.router.v1.Router on gRPC's callback API.
//
// - Ingest: one IngestStream reactor per stream. Batches are handled strictly one after another:
//   read, route (batch_router.h), append to the store (asynchronously, through the store's
//   callback stub), write the ack, read the next. Sequential handling is what keeps a journal's
//   appends in order, which the store's high-water mark relies on. A transient store failure
//   (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...) is retried with backoff on a
//   grpc::Alarm — the stream waits, nothing is skipped; until the persisted configuration has been
//   read (ActiveRoutes::loaded) batches wait the same way rather than be dropped as unrouted.
// - GetRoutes and TestRoute (route_tester.h) answer from ActiveRoutes; SetRoutes validates the
// document and writes it to the
//   `$edgeHub` twin with compare-and-set (asynchronously too); it applies nothing itself.
//
// - Attach: one AttachStream reactor per stream, feeding HubLink (hub_link.h) with hello,
//   presence and results, and writing the deliveries HubLink hands it, in order.
// - Monitor: one MonitorStream reactor per stream, draining its RoutedMessageMonitor subscription
//   (monitor.h) one write at a time; Ingest publishes each batch after the store committed it.
//
// Lifecycle: created by RunRouter before the server starts; EndStreams() cancels open Ingest
// streams at shutdown (before ServiceRunner::Shutdown); destroyed after the server. ActiveRoutes,
// RouterMetrics and the store channel outlive it.
#ifndef EDGE_SERVICES_ROUTER_ROUTER_GRPC_SERVICE_H_
#define EDGE_SERVICES_ROUTER_ROUTER_GRPC_SERVICE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/retry_backoff.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/channel.h"
#include "services/router/active_routes.h"
#include "services/router/delivery.h"
#include "services/router/hub_link.h"
#include "services/router/monitor.h"
#include "services/router/router_metrics.h"

namespace edge::router {

class IngestStream;
class AttachStream;
class MonitorStream;

class RouterGrpcService final : public v1::Router::CallbackService {
 public:
  // `twin_id` is `<device>/$edgeHub`; `retry` paces store appends retried after a transient
  // failure.
  // `hub` receives what Attach streams say and carries deliveries to them; `delivery` reports
  // what its executors are doing; `monitor` gets every committed batch; `upstream` says how the
  // upstream link is (EndpointStats).
  RouterGrpcService(std::shared_ptr<grpc::Channel> store, std::string twin_id, RetryPolicy retry,
                    ActiveRoutes* routes, RouterMetrics* metrics, HubLink* hub,
                    DeliveryManager* delivery, RoutedMessageMonitor* monitor,
                    const UpstreamSink* upstream);
  ~RouterGrpcService() override;

  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* Ingest(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetRoutes(grpc::CallbackServerContext* context,
                                      const v1::GetRoutesRequest* request,
                                      v1::GetRoutesResponse* response) override;
  grpc::ServerUnaryReactor* SetRoutes(grpc::CallbackServerContext* context,
                                      const v1::SetRoutesRequest* request,
                                      v1::SetRoutesResponse* response) override;
  grpc::ServerBidiReactor<v1::AttachRequest, v1::AttachResponse>* Attach(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* EndpointStats(grpc::CallbackServerContext* context,
                                          const v1::EndpointStatsRequest* request,
                                          v1::EndpointStatsResponse* response) override;
  // Answers from the configuration in force (or the request's document); stores nothing.
  grpc::ServerUnaryReactor* TestRoute(grpc::CallbackServerContext* context,
                                      const v1::TestRouteRequest* request,
                                      v1::TestRouteResponse* response) override;

  grpc::ServerWriteReactor<v1::MonitorResponse>* Monitor(
      grpc::CallbackServerContext* context, const v1::MonitorRequest* request) override;

  // Cancels every open Ingest, Attach and Monitor stream (the hub reconnects and re-sends what
  // was not acked).
  void EndStreams();

 private:
  friend class IngestStream;
  friend class AttachStream;
  friend class MonitorStream;
  void Unregister(IngestStream* stream);
  void Unregister(AttachStream* stream);
  void Unregister(MonitorStream* stream);

  std::unique_ptr<store::v1::MessageStore::Stub> store_stub_;
  std::unique_ptr<store::v1::TwinStore::Stub> twin_stub_;
  const std::string twin_id_;
  const RetryPolicy retry_;
  ActiveRoutes* const routes_;
  RouterMetrics* const metrics_;
  HubLink* const hub_;
  DeliveryManager* const delivery_;
  RoutedMessageMonitor* const monitor_;
  const UpstreamSink* const upstream_;

  absl::Mutex streams_mu_;
  absl::flat_hash_set<IngestStream*> streams_ ABSL_GUARDED_BY(streams_mu_);
  absl::flat_hash_set<AttachStream*> attach_streams_ ABSL_GUARDED_BY(streams_mu_);
  absl::flat_hash_set<MonitorStream*> monitor_streams_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ROUTER_GRPC_SERVICE_H_
