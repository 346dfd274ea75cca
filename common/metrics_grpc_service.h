// MetricsGrpcService: edge.metrics.v1.Metrics, the registry of one service rendered in the
// Prometheus text format. ServiceRunner registers it on every server; `edgectl metrics` calls it.
//
// Example:
//   MetricsGrpcService metrics("store", &registry);
//   builder.RegisterService(&metrics);
#ifndef EDGE_COMMON_METRICS_GRPC_SERVICE_H_
#define EDGE_COMMON_METRICS_GRPC_SERVICE_H_

#include <string>

#include "common/metrics.h"
#include "edge/metrics/v1/metrics.grpc.pb.h"

namespace edge {

// `registry` is not owned and outlives the service; GetMetrics runs on gRPC's threads.
class MetricsGrpcService final : public metrics::v1::Metrics::CallbackService {
 public:
  MetricsGrpcService(std::string service, MetricsRegistry* registry)
      : service_(std::move(service)), registry_(registry) {}

  // Never fails: the service name and RenderPrometheusText().
  grpc::ServerUnaryReactor* GetMetrics(grpc::CallbackServerContext* context,
                                       const metrics::v1::GetMetricsRequest* request,
                                       metrics::v1::GetMetricsResponse* response) override;

 private:
  const std::string service_;
  MetricsRegistry* const registry_;
};

}  // namespace edge

#endif  // EDGE_COMMON_METRICS_GRPC_SERVICE_H_
