// `edgectl metrics`: the services' metrics in the Prometheus text format (0.0.4), as each service
// serves them on edge.metrics.v1.Metrics (and at GET /metrics when its `metrics_port` is set).
//
//   edgectl metrics              every running service, each after a "# service: NAME" line
//   edgectl metrics SERVICE      only that one (store, router, hub, agent), after the same line
//   edgectl metrics -o json      [{"service": "store", "text": "..."}, ...]
//
// The "# service:" line is a comment to Prometheus parsers, so the output stays valid exposition
// text. Without SERVICE, a service is skipped when it is not listening — unless the supervisor says
// it is running, which makes it an error. Exit codes: 0; 1 when a service does not answer (the
// message names it; what the others gave is still printed); 2 for a bad config file;
// 3 (kExitNotRunning) when no service answers at all.
//
// Example:
//   Action action;
//   AddMetricsCommands(app, &action);
#ifndef EDGE_CLI_METRICS_COMMANDS_H_
#define EDGE_CLI_METRICS_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "absl/strings/string_view.h"
#include "cli/command.h"

namespace edge::cli {

void AddMetricsCommands(CLI::App& app, Action* action);

// The command itself; `service` empty means every running service. Returns the exit code.
int ShowMetrics(const CommandContext& context, absl::string_view service);

}  // namespace edge::cli

#endif  // EDGE_CLI_METRICS_COMMANDS_H_
