#include "common/metrics_grpc_service.h"

namespace edge {

grpc::ServerUnaryReactor* MetricsGrpcService::GetMetrics(
    grpc::CallbackServerContext* context, const metrics::v1::GetMetricsRequest* request,
    metrics::v1::GetMetricsResponse* response) {
  (void)request;
  response->set_service(service_);
  response->set_text(registry_->RenderPrometheusText());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace edge
