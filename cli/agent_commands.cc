#include "cli/agent_commands.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "cli/runtime_control.h"
#include "cli/table.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "edge/agent/v1/agent.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"

namespace edge::cli {
namespace {

namespace v1 = ::edge::agent::v1;

// ApplyDeployment makes a few store calls; this only bounds an agent that accepts and then hangs.
constexpr auto kRpcTimeout = std::chrono::seconds(30);

std::unique_ptr<grpc::ClientContext> RpcContext() {
  auto rpc = std::make_unique<grpc::ClientContext>();
  rpc->set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  return rpc;
}

// The agent's error as edgectl reports it; an unreachable agent gets a hint. (The agent's own
// UNAVAILABLE errors say "edge-store is unavailable" and are shown as they are.)
absl::Status AgentError(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("edge-store") == std::string::npos) {
    return absl::UnavailableError(
        absl::StrCat("edge-agent is not reachable (start the runtime with `edgectl up`): ",
                     status.error_message()));
  }
  return FromGrpcStatus(status);
}

// Runs `body` with a stub of the agent; any error is reported with its exit code.
int WithAgent(const CommandContext& context,
              const std::function<absl::Status(v1::Agent::Stub&)>& body) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = context.Channel("agent");
  if (!channel.ok()) return ReportError(context, channel.status());
  std::unique_ptr<v1::Agent::Stub> stub = v1::Agent::NewStub(*channel);
  absl::Status status = body(*stub);
  return status.ok() ? kExitOk : ReportError(context, status);
}

// "2026-01-01T10:00:00.123Z"; null for 0 (never).
nlohmann::json UtcTime(int64_t unix_ms) {
  if (unix_ms == 0) return nullptr;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

const char* StateName(v1::ModuleState state) {
  switch (state) {
    case v1::MODULE_STATE_CREATED:
      return "created";
    case v1::MODULE_STATE_RUNNING:
      return "running";
    case v1::MODULE_STATE_EXITED:
      return "exited";
    case v1::MODULE_STATE_DEAD:
      return "dead";
    default:
      return "unknown";
  }
}

int Deploy(const CommandContext& context, const std::string& file) {
  std::ifstream in(file);
  if (!in)
    return ReportError(context, absl::InvalidArgumentError(absl::StrCat("cannot read ", file)));
  std::stringstream text;
  text << in.rdbuf();
  return WithAgent(context, [&](v1::Agent::Stub& agent) -> absl::Status {
    v1::ApplyDeploymentRequest request;
    request.set_deployment_json(text.str());
    v1::ApplyDeploymentResponse response;
    grpc::Status status = agent.ApplyDeployment(RpcContext().get(), request, &response);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      // Every reason on a line of its own; 412 is a bad schemaVersion, bad input all the same.
      const int code = status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 400 : 412;
      return absl::InvalidArgumentError(
          absl::StrCat(file, " is not a valid deployment (", code, "); nothing was written:\n  ",
                       absl::StrReplaceAll(status.error_message(), {{"\n", "\n  "}})));
    }
    if (!status.ok()) return AgentError(status);
    if (context.format == OutputFormat::kJson) {
      nlohmann::json out = {{"agent_desired_version", response.agent_desired_version()},
                            {"hub_desired_version", response.hub_desired_version()},
                            {"module_twins_written", response.module_twins_written()},
                            {"module_twins_skipped", response.module_twins_skipped()}};
      *context.out << out.dump(2) << "\n";
      return absl::OkStatus();
    }
    *context.out << "deployment written: $edgeAgent desired version "
                 << response.agent_desired_version() << ", $edgeHub desired version "
                 << response.hub_desired_version() << "\n";
    for (const std::string& twin : response.module_twins_written()) {
      *context.out << "module twin written: " << twin << "\n";
    }
    for (const std::string& twin : response.module_twins_skipped()) {
      *context.out << "module twin not written (the module has no identity yet): " << twin << "\n";
    }
    return absl::OkStatus();
  });
}

int List(const CommandContext& context) {
  return WithAgent(context, [&](v1::Agent::Stub& agent) -> absl::Status {
    v1::ListModulesResponse response;
    grpc::Status status =
        agent.ListModules(RpcContext().get(), v1::ListModulesRequest(), &response);
    if (!status.ok()) return AgentError(status);
    const absl::Time now = absl::Now();
    if (context.format == OutputFormat::kJson) {
      nlohmann::json out = nlohmann::json::array();
      for (const v1::Module& m : response.modules()) {
        out.push_back({{"name", m.name()},
                       {"state", StateName(m.state())},
                       {"status", ModuleStatusText(m)},
                       {"description", ModuleDescription(m, now)},
                       {"pid", m.pid() == 0 ? nlohmann::json(nullptr) : nlohmann::json(m.pid())},
                       {"exit_code", m.exit_code()},
                       {"signal", m.signal()},
                       {"exit_description", m.description()},
                       {"started_at", UtcTime(m.started_unix_ms())},
                       {"finished_at", UtcTime(m.finished_unix_ms())},
                       {"argv", m.argv()}});
      }
      *context.out << out.dump(2) << "\n";
      return absl::OkStatus();
    }
    TextTable table({"NAME", "STATUS", "DESCRIPTION"});
    for (const v1::Module& m : response.modules()) {
      table.AddRow({m.name(), ModuleStatusText(m), ModuleDescription(m, now)});
    }
    *context.out << table.Render();
    return absl::OkStatus();
  });
}

int Logs(const CommandContext& context, const std::string& module, int tail) {
  return WithAgent(context, [&](v1::Agent::Stub& agent) -> absl::Status {
    v1::GetLogsRequest request;
    request.set_name(module);
    request.set_tail(tail);
    std::unique_ptr<grpc::ClientContext> rpc = RpcContext();
    std::unique_ptr<grpc::ClientReader<v1::LogChunk>> reader = agent.GetLogs(rpc.get(), request);
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) *context.out << chunk.text();
    context.out->flush();
    grpc::Status status = reader->Finish();
    return status.ok() ? absl::OkStatus() : AgentError(status);
  });
}

}  // namespace

std::string HumanDuration(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  const int64_t hours = static_cast<int64_t>(absl::ToDoubleHours(d) + 0.5);  // rounded, as docker
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  return absl::StrCat(absl::ToInt64Hours(d) / 24 / 365, " years");
}

std::string ModuleStatusText(const agent::v1::Module& module) {
  if (module.state() == v1::MODULE_STATE_EXITED) {
    return absl::StrCat("exited (", module.exit_code(), ")");
  }
  return StateName(module.state());
}

std::string ModuleDescription(const agent::v1::Module& module, absl::Time now) {
  auto since = [&](int64_t unix_ms) { return HumanDuration(now - absl::FromUnixMillis(unix_ms)); };
  switch (module.state()) {
    case v1::MODULE_STATE_CREATED:
      return "Created";
    case v1::MODULE_STATE_RUNNING:
      return absl::StrCat("Up ", since(module.started_unix_ms()));
    case v1::MODULE_STATE_EXITED: {
      std::string text = absl::StrCat("Exited ", since(module.finished_unix_ms()), " ago");
      if (module.signal() != 0) absl::StrAppend(&text, " (", module.description(), ")");
      return text;
    }
    case v1::MODULE_STATE_DEAD:
      return module.started_unix_ms() == 0
                 ? "Dead (its monitor ended without recording an exit)"
                 : absl::StrCat("Dead (its monitor ended without recording an exit; started ",
                                since(module.started_unix_ms()), " ago)");
    default:
      return "";
  }
}

void AddAgentCommands(CLI::App& app, Action* action) {
  auto deploy_file = std::make_shared<std::string>();
  CLI::App* deploy = app.add_subcommand(
      "deploy", "validate a deployment manifest and write it as the device's desired state");
  deploy->add_option("FILE", *deploy_file, "the deployment (modulesContent) JSON")->required();
  deploy->callback(
      [=] { *action = [=](const CommandContext& c) { return Deploy(c, *deploy_file); }; });

  app.add_subcommand("list", "the modules: NAME STATUS DESCRIPTION")->callback([=] {
    *action = [](const CommandContext& c) { return List(c); };
  });

  auto logs_module = std::make_shared<std::string>();
  auto logs_tail = std::make_shared<int>(0);
  CLI::App* logs = app.add_subcommand("logs", "a module's output (stdout and stderr)");
  logs->add_option("MODULE", *logs_module)->required();
  logs->add_option("--tail", *logs_tail, "only the last N lines (default: all that is kept)")
      ->check(CLI::NonNegativeNumber);
  logs->callback([=] {
    *action = [=](const CommandContext& c) { return Logs(c, *logs_module, *logs_tail); };
  });
}

}  // namespace edge::cli
