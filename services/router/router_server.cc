#include "services/router/router_server.h"

#include "absl/strings/str_cat.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/router/active_routes.h"
#include "services/router/desired_follower.h"
#include "services/router/router_grpc_service.h"
#include "services/router/router_metrics.h"

namespace edge::router {

absl::StatusOr<RouterOptions> RouterOptions::FromConfig(const Config& config,
                                                        const std::filesystem::path& edge_home) {
  RouterOptions options;
  ASSIGN_OR_RETURN(options.device, DeviceConfig::FromConfig(config));
  ASSIGN_OR_RETURN(options.store, ServiceListenAddress(config, edge_home, "store"));
  ConfigSection section = config.Section("router");
  ASSIGN_OR_RETURN(options.listen, ListenAddressFromSection(section, edge_home));
  ASSIGN_OR_RETURN(options.store_retry.initial,
                   section.GetSeconds("store_retry_initial_seconds", absl::Milliseconds(50),
                                      absl::Milliseconds(1)));
  ASSIGN_OR_RETURN(
      options.store_retry.max,
      section.GetSeconds("store_retry_max_seconds", absl::Seconds(5), absl::Milliseconds(1)));
  if (options.store_retry.max < options.store_retry.initial) {
    return absl::InvalidArgumentError(
        "router.store_retry_max_seconds: must not be below router.store_retry_initial_seconds");
  }
  ASSIGN_OR_RETURN(options.shutdown_grace, section.GetSeconds("shutdown_grace_seconds",
                                                              absl::Seconds(5), absl::Seconds(0)));
  ASSIGN_OR_RETURN(options.metrics_http, MetricsHttpOptionsFromSection(section));
  RETURN_IF_ERROR(section.CheckNoUnknownKeys());
  return options;
}

absl::Status RunRouter(const ServiceContext& context) {
  ASSIGN_OR_RETURN(RouterOptions options,
                   RouterOptions::FromConfig(context.config, context.edge_home));
  const std::string twin_id = EdgeHubTwinId(options.device.id);
  spdlog::info("store at {}, routes from {}", options.store.grpc_target, twin_id);
  // The store is local: reconnect as fast as calls are retried, not after gRPC's default of up to
  // two minutes, so a restarted store is in use again within store_retry_max_seconds.
  std::shared_ptr<grpc::Channel> store =
      LocalServiceChannel(options.store.grpc_target, options.store_retry);
  MetricsRegistry metrics_registry;  // outlives everything below that counts into it
  RouterMetrics metrics(&metrics_registry);
  ActiveRoutes routes(&metrics);
  RouterGrpcService service(store, twin_id, options.store_retry, &routes, &metrics);
  DesiredFollower follower(store, twin_id, options.store_retry, &routes, &metrics);
  ServiceRunner runner("router", options.listen, options.shutdown_grace);
  runner.SetMetrics(&metrics_registry, options.metrics_http);
  RETURN_IF_ERROR(runner.Start({&service}));
  follower.Start();
  runner.WaitForTermination();
  service.EndStreams();
  runner.Shutdown();
  return absl::OkStatus();
}

}  // namespace edge::router
