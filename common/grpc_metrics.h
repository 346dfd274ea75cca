// Per-RPC metrics for every gRPC server of the runtime, recorded by a server interceptor that
// ServiceRunner installs, so that no service counts its own calls:
//
//   edge_grpc_server_started_total{grpc_service,grpc_method}             calls started
//   edge_grpc_server_handled_total{grpc_service,grpc_method,grpc_code}   calls finished, by status
//   edge_grpc_server_handling_seconds{grpc_service,grpc_method}          histogram: call start to
//                                                                        status sent (for a stream,
//                                                                        its whole life)
//
// grpc_service is the full service name ("edge.store.v1.MessageStore"), grpc_method the method
// ("AppendMessages"), grpc_code the status code's canonical name ("OK", "INVALID_ARGUMENT"). Calls
// rejected by a service are the handled calls whose code is not OK. A call to a method that is not
// compiled into the binary is recorded under grpc_service="unknown", grpc_method="unknown", so that
// a client cannot create series by inventing method names.
//
// Example:
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<GrpcServerMetrics>(&registry));
//   builder.experimental().SetInterceptorCreators(std::move(f));
#ifndef EDGE_COMMON_GRPC_METRICS_H_
#define EDGE_COMMON_GRPC_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace edge {

// Owned by the gRPC server it is given to; `registry` must outlive that server. Thread-safe.
class GrpcServerMetrics final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcServerMetrics(MetricsRegistry* registry);
  ~GrpcServerMetrics() override;

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  // The metrics of one method, resolved once and shared by its calls.
  class Method;

 private:
  Method* Resolve(const char* full_method);
  Method* Unknown();

  CounterFamily<2>& started_;
  CounterFamily<3>& handled_;
  HistogramFamily<2>& handling_;

  absl::Mutex mu_;
  std::unique_ptr<Method> unknown_ ABSL_GUARDED_BY(mu_);  // created by the first such call
  // Only methods compiled into the binary are added, so this stays small.
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edge

#endif  // EDGE_COMMON_GRPC_METRICS_H_
