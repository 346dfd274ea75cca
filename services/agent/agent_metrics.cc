#include "services/agent/agent_metrics.h"

namespace edge::agent {

AgentMetrics::AgentMetrics(MetricsRegistry* registry)
    : deployments(registry->AddCounterFamily<1>(
          "edge_agent_deployments_total",
          "ApplyDeployment calls by outcome: written, 400 (invalid), 412 (bad schemaVersion), "
          "conflict (stale expected version), failed (the store).",
          {"outcome"})),
      module_twins_skipped(registry->AddCounter(
          "edge_agent_module_twins_skipped_total",
          "Module twins of a deployment not written because the module has no identity yet.")),
      store_errors(registry->AddCounterFamily<1>(
          "edge_agent_store_errors_total", "Failed store calls, by operation (logged at warn).",
          {"operation"})),
      desired_versions(registry->AddCounterFamily<1>(
          "edge_agent_desired_versions_total",
          "$edgeAgent desired versions evaluated by the reconciler, by lastDesiredStatus code.",
          {"code"})),
      reconcile_actions(registry->AddCounterFamily<2>(
          "edge_agent_reconcile_actions_total",
          "Reconcile actions on modules (create, recreate, start, stop, remove, list), by outcome "
          "(ok, error; errors are logged at warn).",
          {"action", "outcome"})),
      module_restarts(registry->AddCounter("edge_agent_module_restarts_total",
                                           "Modules restarted by their restart policy.")),
      unhealthy_stops(registry->AddCounter(
          "edge_agent_unhealthy_stops_total",
          "Running modules stopped because their health check found them unhealthy (logged at "
          "warn; their restart policy restarts them).")),
      became_unhealthy(registry->AddCounter(
          "edge_agent_modules_unhealthy_total",
          "Times a module's health check found it unhealthy (Retries consecutive failures; "
          "logged at warn).")),
      module_commands(registry->AddCounterFamily<2>(
          "edge_agent_module_commands_total",
          "StartModule, StopModule and RestartModule calls carried out, by command (start, stop, "
          "restart) and outcome (ok, error).",
          {"command", "outcome"})),
      system_service_down(registry->AddCounterFamily<1>(
          "edge_agent_system_service_down_total",
          "Reconcile passes that found a service behind edgeHub (edge-hub, edge-router, "
          "edge-store) not serving, by service (logged at warn when it goes down).",
          {"service"})) {}

}  // namespace edge::agent
