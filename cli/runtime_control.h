// The `edgectl up`, `down` and `status` commands.
//
//   Up      writes a default config.toml if there is none, starts the supervisor in the background
//           (`edgectl supervise`, its own session, output to logs/supervisor.log) and returns once
//           every installed service answers the gRPC health check — or stops everything again and
//           shows the failing service's last log lines.
//   Down    SIGTERMs the supervisor (which stops the services in reverse order), waits for it, then
//           stops any service a pidfile still names (verified through /proc before signalling).
//   Status  the supervisor's view (run/supervisor.json) plus a live health check per service, as a
//           table or JSON.
//
// Each command prints results on `out`, problems on `err`, and returns the process exit code:
//   kExitOk (0)          success; for status: every service is serving
//   kExitFailure (1)     failure; for status: some service is not serving or unreachable
//   kExitUsage (2)       a bad flag or configuration (the message names the key)
//   kExitNotRunning (3)  status only: the runtime is not running (the LSB convention)
//
// Example:
//   return Up({.edge_home = home, .bin_dir = bin_dir}, std::cout, std::cerr);
#ifndef EDGE_CLI_RUNTIME_CONTROL_H_
#define EDGE_CLI_RUNTIME_CONTROL_H_

#include <filesystem>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "cli/command.h"

namespace edge::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotRunning = 3;
// `edgectl supervise` only: another supervisor holds this home's lock. `up` turns it into
// "already running" when two of them race.
inline constexpr int kExitSupervisorAlreadyRunning = 4;

// How long a service gets between SIGTERM and SIGKILL, in the supervisor and in Down's fallback.
inline constexpr absl::Duration kServiceStopGrace = absl::Seconds(10);

struct UpOptions {
  std::filesystem::path edge_home;  // as NormalizeEdgeHome returns it
  std::filesystem::path bin_dir;    // where edge-<service> binaries are looked for
  // For every service to report healthy; after it Up stops everything and fails.
  absl::Duration timeout = absl::Seconds(30);
  std::string log_level = "info";  // the supervisor's
};
int Up(const UpOptions& options, std::ostream& out, std::ostream& err);

struct DownOptions {
  std::filesystem::path edge_home;
  // For the supervisor to stop its services and exit before it is SIGKILLed. It stops services
  // one after the other, each within kServiceStopGrace, so this covers four slow ones.
  absl::Duration timeout = absl::Seconds(60);
};
int Down(const DownOptions& options, std::ostream& out, std::ostream& err);

struct StatusOptions {
  std::filesystem::path edge_home;
  OutputFormat format = OutputFormat::kTable;
  absl::Duration health_timeout = absl::Seconds(1);  // per service
};
// Each service's state and health; then, while edge-router answers, the upstream link's line
// (UpstreamLinkLine in route_commands.h; `upstream` in JSON, null when the router does not answer).
int Status(const StatusOptions& options, std::ostream& out, std::ostream& err);

}  // namespace edge::cli

#endif  // EDGE_CLI_RUNTIME_CONTROL_H_
