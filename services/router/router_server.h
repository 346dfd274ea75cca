// Wiring and lifecycle of edge-router: reads [device] and [router] from the config, connects to
// the store, follows the `$edgeHub` twin and serves edge.router.v1 until SIGTERM.
#ifndef EDGE_SERVICES_ROUTER_ROUTER_SERVER_H_
#define EDGE_SERVICES_ROUTER_ROUTER_SERVER_H_

#include <filesystem>

#include "absl/status/statusor.h"
#include "common/retry_backoff.h"
#include "common/service_runner.h"
#include "services/router/delivery.h"
#include "services/router/upstream_link.h"

namespace edge::router {

struct RouterOptions {
  DeviceConfig device;
  ListenAddress listen;
  // Where the store listens: its own `store.listen`, so both services agree on one key.
  ListenAddress store;
  // Pacing of store calls retried after a transient failure (appends, the watch, state).
  RetryPolicy store_retry;
  // Delivery to every endpoint: delivery_window, replay_window_seconds,
  // delivery_retry_initial_seconds, delivery_retry_max_seconds, priority_max_passed_over.
  DeliveryOptions delivery;
  absl::Duration shutdown_grace = absl::Seconds(5);
  MetricsHttpOptions metrics_http;  // metrics_port, metrics_address (see service_runner.h)
  // The upstream link: [device] connection_string and [router] upstream_*; nullopt without a
  // connection string (`$upstream` then gets NoUpstreamLinkSink).
  std::optional<UpstreamLinkOptions> upstream;

  // [device], [store] listen and [router]: listen, store_retry_initial_seconds,
  // store_retry_max_seconds, delivery_window, replay_window_seconds,
  // delivery_retry_initial_seconds, delivery_retry_max_seconds, priority_max_passed_over,
  // shutdown_grace_seconds, metrics_port, metrics_address, upstream_* (UpstreamLinkOptions).
  // INVALID_ARGUMENT naming the key for a bad or unknown one.
  static absl::StatusOr<RouterOptions> FromConfig(const Config& config,
                                                  const std::filesystem::path& edge_home);
};

// Runs edge-router until a termination signal. Errors: those of RouterOptions::FromConfig and
// ServiceRunner::Start. The store being unavailable is not an error: the router retries.
absl::Status RunRouter(const ServiceContext& context);

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ROUTER_SERVER_H_
