#include "services/router/router_server.h"

#include "absl/strings/str_cat.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/router/active_routes.h"
#include "services/router/delivery.h"
#include "services/router/desired_follower.h"
#include "services/router/hub_link.h"
#include "services/router/monitor.h"
#include "services/router/router_grpc_service.h"
#include "services/router/router_metrics.h"
#include "services/router/upstream_sink.h"

namespace edge::router {
namespace {

// A retry policy from `<prefix>_initial_seconds` and `<prefix>_max_seconds`.
absl::StatusOr<RetryPolicy> RetryFromSection(ConfigSection& section, absl::string_view prefix,
                                             RetryPolicy defaults) {
  RetryPolicy policy;
  const std::string initial = absl::StrCat(prefix, "_initial_seconds");
  const std::string max = absl::StrCat(prefix, "_max_seconds");
  ASSIGN_OR_RETURN(policy.initial,
                   section.GetSeconds(initial, defaults.initial, absl::Milliseconds(1)));
  ASSIGN_OR_RETURN(policy.max, section.GetSeconds(max, defaults.max, absl::Milliseconds(1)));
  if (policy.max < policy.initial) {
    return absl::InvalidArgumentError(
        absl::StrCat("router.", max, ": must not be below router.", initial));
  }
  return policy;
}

}  // namespace

absl::StatusOr<RouterOptions> RouterOptions::FromConfig(const Config& config,
                                                        const std::filesystem::path& edge_home) {
  RouterOptions options;
  ASSIGN_OR_RETURN(options.device, DeviceConfig::FromConfig(config));
  ASSIGN_OR_RETURN(options.store, ServiceListenAddress(config, edge_home, "store"));
  ConfigSection section = config.Section("router");
  ASSIGN_OR_RETURN(options.listen, ListenAddressFromSection(section, edge_home));
  ASSIGN_OR_RETURN(options.store_retry,
                   RetryFromSection(section, "store_retry",
                                    {.initial = absl::Milliseconds(50), .max = absl::Seconds(5)}));
  ASSIGN_OR_RETURN(options.delivery.retry,
                   RetryFromSection(section, "delivery_retry",
                                    {.initial = absl::Seconds(1), .max = absl::Seconds(60)}));
  ASSIGN_OR_RETURN(int64_t window, section.GetInt("delivery_window", 100, 1, 10000));
  options.delivery.window = static_cast<int>(window);
  ASSIGN_OR_RETURN(
      options.delivery.replay_window,
      section.GetSeconds("replay_window_seconds", absl::Seconds(10), absl::ZeroDuration()));
  ASSIGN_OR_RETURN(int64_t passed_over, section.GetInt("priority_max_passed_over", 10, 1, 1000));
  options.delivery.max_passed_over = static_cast<int>(passed_over);
  ASSIGN_OR_RETURN(options.shutdown_grace, section.GetSeconds("shutdown_grace_seconds",
                                                              absl::Seconds(5), absl::Seconds(0)));
  ASSIGN_OR_RETURN(options.metrics_http, MetricsHttpOptionsFromSection(section));
  ASSIGN_OR_RETURN(options.upstream, UpstreamLinkOptions::FromConfig(options.device, section));
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
  HubLink hub;
  // Without a connection string `$upstream` queues wait for their TTL.
  NoUpstreamLinkSink no_upstream;
  std::unique_ptr<UpstreamLink> link;
  UpstreamSink* upstream = &no_upstream;
  if (options.upstream.has_value()) {
    link = std::make_unique<UpstreamLink>(*options.upstream, &metrics);
    upstream = link.get();
    spdlog::info("upstream link to {}:{} as {}", options.upstream->host, options.upstream->port,
                 options.upstream->device_id);
  } else {
    spdlog::info("no upstream link: [device] connection_string is empty");
  }
  DeliveryManager delivery(store, &hub, upstream, options.delivery, &metrics);
  RoutedMessageMonitor monitor(&metrics);
  RouterGrpcService service(store, twin_id, options.store_retry, &routes, &metrics, &hub, &delivery,
                            &monitor, upstream);
  DesiredFollower follower(store, twin_id, options.store_retry, &routes, &metrics);
  ServiceRunner runner("router", options.listen, options.shutdown_grace);
  runner.SetMetrics(&metrics_registry, options.metrics_http);
  RETURN_IF_ERROR(runner.Start({&service}));
  follower.Start();
  if (link != nullptr) link->Start();
  delivery.Start();
  runner.WaitForTermination();
  service.EndStreams();
  hub.Interrupt();
  upstream->Interrupt();
  delivery.Stop();
  if (link != nullptr) link->Stop();
  runner.Shutdown();
  return absl::OkStatus();
}

}  // namespace edge::router
