// How edgectl's command groups plug in: each group adds its subcommands to the CLI11 app and, when
// one of them is parsed, leaves an Action to run once the global flags are resolved.
//
// Example (a group):
//   void AddTwinCommands(CLI::App& app, Action* action) {
//     CLI::App* get = app.add_subcommand("twin", "...")->add_subcommand("get", "...");
//     auto id = std::make_shared<std::string>();
//     get->add_option("ID", *id)->required();
//     get->callback([=] { *action = [=](const CommandContext& c) { return TwinGet(c, *id); }; });
//   }
#ifndef EDGE_CLI_COMMAND_H_
#define EDGE_CLI_COMMAND_H_

#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "grpcpp/channel.h"

namespace edge::cli {

enum class OutputFormat { kTable, kJson };

// What every command gets: the resolved home, the output format and streams, and a way to reach
// a service over gRPC.
struct CommandContext {
  std::filesystem::path edge_home;
  OutputFormat format = OutputFormat::kTable;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;

  // The config of this home (defaults when config.toml is absent). INVALID_ARGUMENT for a bad file.
  absl::StatusOr<Config> LoadConfig() const;
  // A channel to `service` ("store", ...) at its configured listen address.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(absl::string_view service) const;
};

// Returns the process exit code.
using Action = std::function<int(const CommandContext&)>;

// Prints `status` as "edgectl: <message>" on `context.err` and returns the exit code for it:
// 2 for INVALID_ARGUMENT (bad usage), 1 otherwise.
int ReportError(const CommandContext& context, const absl::Status& status);

}  // namespace edge::cli

#endif  // EDGE_CLI_COMMAND_H_
