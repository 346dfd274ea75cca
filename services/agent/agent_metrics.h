// AgentMetrics: every metric edge-agent's service exports (services/agent/README.md, "Metrics"), as
// references into the service's MetricsRegistry. Per-RPC counts and latencies come from the
// ServiceRunner (common/grpc_metrics.h) and are not repeated here.
//
// Lifecycle: created by RunAgent after the registry and before everything that counts; the registry
// outlives it. Thread-safe (every metric is).
#ifndef EDGE_SERVICES_AGENT_AGENT_METRICS_H_
#define EDGE_SERVICES_AGENT_AGENT_METRICS_H_

#include "common/metrics.h"

namespace edge::agent {

struct AgentMetrics {
  explicit AgentMetrics(MetricsRegistry* registry);

  CounterFamily<1>& deployments;   // ApplyDeployment outcomes: 200 written, 400, 412, failed
  Counter& module_twins_skipped;   // module twins not written: no identity yet (logged at warn)
  CounterFamily<1>& store_errors;  // failed store calls, by operation (logged at warn)
  // The reconciler: `$edgeAgent` desired versions evaluated, by verdict code (200, 400, 412, 417).
  CounterFamily<1>& desired_versions;
  // Plan actions executed (create, recreate, start, stop, remove; list), by outcome (ok, error).
  CounterFamily<2>& reconcile_actions;
  Counter& module_restarts;   // restarts by the restart policy
  Counter& unhealthy_stops;   // modules stopped for being unhealthy (logged at warn)
  Counter& became_unhealthy;  // health checks turning a module unhealthy (logged at warn)
  // StartModule, StopModule, RestartModule: by command (start, stop, restart), outcome (ok, error).
  CounterFamily<2>& module_commands;
  // Passes that found edge-hub, edge-router or edge-store not serving, by service.
  CounterFamily<1>& system_service_down;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_AGENT_METRICS_H_
