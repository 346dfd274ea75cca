#include "cli/metrics_commands.h"

#include <chrono>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/runtime_control.h"
#include "cli/runtime_files.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "edge/metrics/v1/metrics.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"

namespace edge::cli {
namespace {

// Rendering is quick; this only bounds a service that accepts the call and then hangs.
constexpr auto kRpcTimeout = std::chrono::seconds(5);

struct ServiceMetrics {
  std::string service;
  std::string text;
};

// The metrics text of `service`. UNAVAILABLE when it is not listening; other errors as the service
// (or gRPC) gave them. Messages name the service.
absl::StatusOr<std::string> FetchMetrics(const CommandContext& context, absl::string_view service) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, context.Channel(service));
  std::unique_ptr<metrics::v1::Metrics::Stub> stub = metrics::v1::Metrics::NewStub(channel);
  grpc::ClientContext rpc;
  rpc.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  metrics::v1::GetMetricsResponse response;
  grpc::Status status = stub->GetMetrics(&rpc, metrics::v1::GetMetricsRequest(), &response);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(absl::StrCat(
        "edge-", service,
        " is not reachable (is the runtime up? `edgectl up`): ", status.error_message()));
  }
  if (!status.ok()) {
    const absl::Status error = FromGrpcStatus(status);
    return absl::Status(error.code(), absl::StrCat("edge-", service,
                                                   " did not give its metrics: ", error.message()));
  }
  return response.text();
}

// The services the supervisor reports as running; empty when it is not running (services may
// then have been started by hand, and whoever answers is shown).
std::set<std::string> SupervisedRunning(const CommandContext& context) {
  std::set<std::string> running;
  absl::StatusOr<SupervisorState> state = ReadStateFile(StateFile(context.edge_home));
  if (!state.ok()) return running;
  for (const ServiceState& service : state->services) {
    if (service.state == RunState::kRunning) running.insert(service.name);
  }
  return running;
}

void Print(const CommandContext& context, const std::vector<ServiceMetrics>& all) {
  if (context.format == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const ServiceMetrics& m : all) out.push_back({{"service", m.service}, {"text", m.text}});
    *context.out << out.dump(2) << "\n";
    return;
  }
  for (const ServiceMetrics& m : all) *context.out << "# service: " << m.service << "\n" << m.text;
}

}  // namespace

int ShowMetrics(const CommandContext& context, absl::string_view service) {
  // A bad config file is the same error for every service: report it once.
  if (absl::StatusOr<Config> config = context.LoadConfig(); !config.ok()) {
    return ReportError(context, config.status());
  }
  if (!service.empty()) {
    absl::StatusOr<std::string> text = FetchMetrics(context, service);
    if (!text.ok()) return ReportError(context, text.status());
    Print(context, {{std::string(service), *std::move(text)}});
    return kExitOk;
  }
  const std::set<std::string> expected = SupervisedRunning(context);
  std::vector<ServiceMetrics> answered;
  std::vector<absl::Status> errors;
  for (const char* name : kServiceNames) {
    absl::StatusOr<std::string> text = FetchMetrics(context, name);
    if (text.ok()) {
      answered.push_back({name, *std::move(text)});
    } else if (!absl::IsUnavailable(text.status()) || expected.count(name) > 0) {
      errors.push_back(text.status());
    }
  }
  Print(context, answered);
  for (const absl::Status& error : errors) ReportError(context, error);
  if (!errors.empty()) return kExitFailure;
  if (answered.empty()) {
    *context.err << "edgectl: no service is running in " << context.edge_home.string()
                 << " (start the runtime with `edgectl up`)\n";
    return kExitNotRunning;
  }
  return kExitOk;
}

void AddMetricsCommands(CLI::App& app, Action* action) {
  CLI::App* command =
      app.add_subcommand("metrics", "print the services' metrics in the Prometheus text format");
  auto service = std::make_shared<std::string>();
  const std::vector<std::string> names(std::begin(kServiceNames), std::end(kServiceNames));
  command
      ->add_option("SERVICE", *service,
                   "store, router, hub or agent (default: every running service)")
      ->check(CLI::IsMember(names));
  command->callback([service, action] {
    *action = [service](const CommandContext& context) { return ShowMetrics(context, *service); };
  });
}

}  // namespace edge::cli
