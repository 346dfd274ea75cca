#include "cli/edgectl.h"

#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "cli/agent_commands.h"
#include "cli/certs_commands.h"
#include "cli/command.h"
#include "cli/hub_commands.h"
#include "cli/metrics_commands.h"
#include "cli/route_commands.h"
#include "cli/runtime_control.h"
#include "cli/service_binaries.h"
#include "cli/store_commands.h"
#include "cli/supervisor.h"
#include "common/edge_home.h"
#include "common/procfs.h"

namespace edge::cli {

int RunEdgectl(int argc, char** argv) {
  CLI::App app{"edgectl: start, stop and inspect the edge runtime on this device"};
  app.require_subcommand(1);
  // Lets global flags follow the subcommand too: `edgectl status --edge-home /x`.
  app.fallthrough();
  std::string edge_home_flag;
  app.add_option("--edge-home", edge_home_flag,
                 "the runtime's home directory (default $EDGE_HOME, else $HOME/.edge)");

  CLI::App* up = app.add_subcommand(
      "up", "start the supervisor and the installed services; wait until they are healthy");
  double up_timeout = absl::ToDoubleSeconds(UpOptions{}.timeout);
  up->add_option("--timeout", up_timeout, "seconds to wait for every service to be healthy")
      ->check(CLI::PositiveNumber);
  std::string log_level = "info";
  up->add_option("--log-level", log_level, "the supervisor's: trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI::App* down = app.add_subcommand("down", "stop the supervisor and every service");
  double down_timeout = absl::ToDoubleSeconds(DownOptions{}.timeout);
  down->add_option("--timeout", down_timeout,
                   "seconds the supervisor gets to stop the services before it is killed")
      ->check(CLI::PositiveNumber);

  std::string output = "table";
  app.add_option("-o,--output", output, "table or json")->check(CLI::IsMember({"table", "json"}));
  CLI::App* status = app.add_subcommand(
      "status", "show each service's pid, health, uptime, restarts and listen address");

  // Command groups that talk to the services over gRPC.
  Action action;
  AddStoreCommands(app, &action);
  AddMetricsCommands(app, &action);
  AddCertsCommands(app, &action);
  AddAgentCommands(app, &action);
  AddRouteCommands(app, &action);
  AddHubCommands(app, &action);

  // Internal: what `up` runs in the background. An empty group hides it from --help.
  CLI::App* supervise = app.add_subcommand("supervise", "run the supervisor in the foreground");
  supervise->group("");
  std::string bin_dir_flag;
  supervise->add_option("--bin-dir", bin_dir_flag, "where the edge-<service> binaries are");
  supervise->add_option("--log-level", log_level, "trace, debug, info, warn, error");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  absl::StatusOr<std::filesystem::path> resolved = ResolveEdgeHome(edge_home_flag);
  if (!resolved.ok()) {
    std::cerr << "edgectl: " << resolved.status().message() << "\n";
    return kExitUsage;
  }
  const std::filesystem::path home = NormalizeEdgeHome(*resolved);
  absl::StatusOr<std::filesystem::path> bin_dir =
      bin_dir_flag.empty() ? DefaultBinDir() : absl::StatusOr<std::filesystem::path>(bin_dir_flag);
  if (!bin_dir.ok()) {
    std::cerr << "edgectl: " << bin_dir.status().message() << "\n";
    return kExitFailure;
  }

  if (action) {
    return action(
        CommandContext{.edge_home = home,
                       .format = output == "json" ? OutputFormat::kJson : OutputFormat::kTable});
  }
  if (up->parsed()) {
    return Up({.edge_home = home,
               .bin_dir = *bin_dir,
               .timeout = absl::Seconds(up_timeout),
               .log_level = log_level},
              std::cout, std::cerr);
  }
  if (down->parsed()) {
    return Down({.edge_home = home, .timeout = absl::Seconds(down_timeout)}, std::cout, std::cerr);
  }
  if (status->parsed()) {
    return Status({.edge_home = home,
                   .format = output == "json" ? OutputFormat::kJson : OutputFormat::kTable},
                  std::cout, std::cerr);
  }
  absl::Status supervised =
      Supervise({.edge_home = home, .bin_dir = *bin_dir, .log_level = log_level});
  if (!supervised.ok()) {
    // stderr is logs/supervisor.log; `up` shows its tail when the supervisor exits early.
    std::cerr << "edgectl supervise: " << supervised.message() << "\n";
    if (absl::IsAlreadyExists(supervised)) return kExitSupervisorAlreadyRunning;
    return absl::IsInvalidArgument(supervised) ? kExitUsage : kExitFailure;
  }
  return kExitOk;
}

}  // namespace edge::cli
