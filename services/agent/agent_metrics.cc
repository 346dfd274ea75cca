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
          "edge_agent_store_errors_total",
          "Failed store calls of ApplyDeployment and GetDeployment, by operation (logged at warn).",
          {"operation"})) {}

}  // namespace edge::agent
