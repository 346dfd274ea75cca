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
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/grpc_status.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

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

// Calls a unary RPC of edge-`service` ("store", "router", "hub", ...) within `timeout`. Its error
// as an absl::Status; UNAVAILABLE says the service is not reachable and how to start it.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CallService(absl::string_view service, Stub& stub,
                                     grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                                     const Request& request,
                                     absl::Duration timeout = absl::Seconds(10)) {
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  Response response;
  grpc::Status status = (stub.*method)(&call, request, &response);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(absl::StrCat("edge-", service,
                                               " is not reachable (start the runtime with "
                                               "`edgectl up`): ",
                                               status.error_message()));
  }
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

// Splits a `key=value` flag value; INVALID_ARGUMENT naming `flag` otherwise.
absl::StatusOr<std::pair<std::string, std::string>> KeyValueFlag(absl::string_view flag,
                                                                 const std::string& text);

// `message` as indented JSON with the proto field names (for `-o json`).
void PrintProtoJson(const CommandContext& context, const google::protobuf::Message& message);

}  // namespace edge::cli

#endif  // EDGE_CLI_COMMAND_H_
