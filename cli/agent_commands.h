// edgectl's commands over edge-agent: deployments and modules.
//
//   edgectl deploy FILE        validate FILE and write its desired documents (ApplyDeployment)
//   edgectl list               every module: NAME STATUS DESCRIPTION (-o json)
//   edgectl logs MODULE [--tail N] [--since T] [-f]
//                              the module's output (stdout and stderr together); T is a duration
//                              back from now (10m, 1h30m) or an RFC 3339 time; -f follows new
//                              output until Ctrl-C or the module is removed
//   edgectl start|stop|restart MODULE
//                              StartModule, StopModule, RestartModule; a stop holds until a start,
//                              a restart or the next deployment
//
// Exit codes: 0 success; 2 bad input (an invalid deployment — 400 or 412 — with every reason, an
// unreadable file, a malformed module name, a bad --since); 1 anything else (an unknown module, a
// conflicting deployment, a start of a module the deployment wants stopped, the runtime not up —
// with a hint to run `edgectl up`).
#ifndef EDGE_CLI_AGENT_COMMANDS_H_
#define EDGE_CLI_AGENT_COMMANDS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "edge/agent/v1/agent.pb.h"

namespace edge::cli {

void AddAgentCommands(CLI::App& app, Action* action);

// The rendering of `edgectl list`, exposed for tests. Pure.

// A duration as `docker ps` words it: "Less than a second", "1 second", "45 seconds",
// "About a minute", "3 minutes", "About an hour", "5 hours", "3 days", "2 weeks", "4 months",
// "2 years". Negative durations count as zero.
std::string HumanDuration(absl::Duration d);

// STATUS: "created", "running", "exited (3)", "dead".
std::string ModuleStatusText(const agent::v1::Module& module);

// DESCRIPTION, as of `now`: "Up 3 minutes" (with its health check's verdict as docker words it:
// "Up 3 minutes (healthy)", "(unhealthy)", "(health: starting)"), "Exited 2 minutes ago" (with
// the signal for a killed module: "Exited 2 minutes ago (killed by SIGKILL)"; "(stopped by
// edgectl stop)" for a held module), "Created", "Dead (its monitor ended without recording an
// exit; started 5 minutes ago)".
std::string ModuleDescription(const agent::v1::Module& module, absl::Time now);

// `logs --since`: a duration back from `now` ("10m", "1h30m", "45s", as absl::ParseDuration reads
// them) or an RFC 3339 time ("2026-01-02T15:04:05Z", "2026-01-02T15:04:05.5+01:00").
// INVALID_ARGUMENT for anything else or a negative duration:
//   --since: "yesterday" is neither a duration (10m, 1h30m) nor an RFC 3339 time
//   (2026-01-02T15:04:05Z)
absl::StatusOr<absl::Time> ParseSince(const std::string& text, absl::Time now);

}  // namespace edge::cli

#endif  // EDGE_CLI_AGENT_COMMANDS_H_
