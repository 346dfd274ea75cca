// Wiring and lifecycle of edge-agent: reads [device] and [agent] from the config, connects to the
// store, opens the module runtime, follows `$edgeAgent` desired and reconciles the modules
// (DeploymentFollower, Reconciler, with the HealthChecker and the ModuleTable) and serves
// edge.agent.v1 until SIGTERM; then stops the follower, the health checks and the reconciler, ends
// the long-lived streams and shuts the server down.
#ifndef EDGE_SERVICES_AGENT_AGENT_SERVER_H_
#define EDGE_SERVICES_AGENT_AGENT_SERVER_H_

#include <filesystem>

#include "absl/status/statusor.h"
#include "common/retry_backoff.h"
#include "common/service_runner.h"
#include "services/agent/reconciler.h"

namespace edge::agent {

struct AgentOptions {
  DeviceConfig device;
  ListenAddress listen;
  // Where the store listens: its own `store.listen`, so both services agree on one key.
  ListenAddress store;
  // The process runtime's state: one directory per module.
  std::filesystem::path modules_dir;
  // How fast the store channel reconnects after the store restarted.
  RetryPolicy store_reconnect{.initial = absl::Milliseconds(100), .max = absl::Seconds(1)};
  absl::Duration shutdown_grace = absl::Seconds(5);
  MetricsHttpOptions metrics_http;  // metrics_port, metrics_address (see service_runner.h)
  // reconcile_interval_seconds and the restart policy's numbers (restart_initial_delay_seconds,
  // restart_max_delay_seconds, restart_max_count, restart_healthy_seconds); the services behind
  // edgeHub's runtimeStatus at their own `hub.listen`, `router.listen` and `store.listen`.
  ReconcilerOptions reconciler;
  // How fast the deployment follower retries a failed store call or watch.
  RetryPolicy store_retry{.initial = absl::Milliseconds(100), .max = absl::Seconds(5)};

  // [device], [store] listen and [agent]: listen, modules_dir (relative to `edge_home`; default
  // data/modules), shutdown_grace_seconds, metrics_port, metrics_address,
  // module_ca_certificate (relative to `edge_home`; default certs/ca.pem), the reconciler's keys
  // above; the modules' hub endpoint from `[device]` (connection_string's HostName, hostname) and
  // `[hub] sas_port`. INVALID_ARGUMENT naming the key for a bad or unknown one.
  static absl::StatusOr<AgentOptions> FromConfig(const Config& config,
                                                 const std::filesystem::path& edge_home);
};

// Runs edge-agent until a termination signal. Errors: those of AgentOptions::FromConfig and
// ServiceRunner::Start, INTERNAL when /proc/self/exe cannot be read (the module monitor binary is
// found next to edge-agent). The store being unavailable is not an error: calls that need it fail
// with UNAVAILABLE until it is back.
absl::Status RunAgent(const ServiceContext& context);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_AGENT_SERVER_H_
