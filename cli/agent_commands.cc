#include "cli/agent_commands.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

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

const char* HealthName(v1::ModuleHealth health) {
  switch (health) {
    case v1::MODULE_HEALTH_STARTING:
      return "starting";
    case v1::MODULE_HEALTH_HEALTHY:
      return "healthy";
    case v1::MODULE_HEALTH_UNHEALTHY:
      return "unhealthy";
    default:
      return nullptr;
  }
}

nlohmann::json ModuleJson(const v1::Module& m, absl::Time now) {
  const char* health = HealthName(m.health());
  return {{"name", m.name()},
          {"state", StateName(m.state())},
          {"status", ModuleStatusText(m)},
          {"description", ModuleDescription(m, now)},
          {"pid", m.pid() == 0 ? nlohmann::json(nullptr) : nlohmann::json(m.pid())},
          {"exit_code", m.exit_code()},
          {"signal", m.signal()},
          {"exit_description", m.description()},
          {"started_at", UtcTime(m.started_unix_ms())},
          {"finished_at", UtcTime(m.finished_unix_ms())},
          {"health", health == nullptr ? nlohmann::json(nullptr) : nlohmann::json(health)},
          {"health_description", m.health_description()},
          {"held_stopped", m.held_stopped()},
          {"argv", m.argv()}};
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
      for (const v1::Module& m : response.modules()) out.push_back(ModuleJson(m, now));
      *context.out << out.dump(2) << "\n";
      return absl::OkStatus();
    }
    // CONFIG, as `iotedge list` shows a module's image: the program a process module runs.
    TextTable table({"NAME", "STATUS", "DESCRIPTION", "CONFIG"});
    for (const v1::Module& m : response.modules()) {
      table.AddRow({m.name(), ModuleStatusText(m), ModuleDescription(m, now),
                    m.argv().empty() ? "-" : m.argv(0)});
    }
    *context.out << table.Render();
    return absl::OkStatus();
  });
}

struct LogsOptions {
  std::string module;
  int tail = 0;
  std::string since;  // as given; empty: from the start
  bool follow = false;
};

int Logs(const CommandContext& context, const LogsOptions& options) {
  v1::GetLogsRequest request;
  request.set_name(options.module);
  request.set_tail(options.tail);
  request.set_follow(options.follow);
  if (!options.since.empty()) {
    absl::StatusOr<absl::Time> since = ParseSince(options.since, absl::Now());
    if (!since.ok()) return ReportError(context, since.status());
    request.set_since_unix_ms(std::max<int64_t>(absl::ToUnixMillis(*since), 1));
  }
  return WithAgent(context, [&](v1::Agent::Stub& agent) -> absl::Status {
    // Following has no deadline: it lasts until Ctrl-C or the module is removed.
    std::unique_ptr<grpc::ClientContext> rpc =
        options.follow ? std::make_unique<grpc::ClientContext>() : RpcContext();
    std::unique_ptr<grpc::ClientReader<v1::LogChunk>> reader = agent.GetLogs(rpc.get(), request);
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) {
      *context.out << chunk.text();
      if (options.follow) context.out->flush();
    }
    context.out->flush();
    grpc::Status status = reader->Finish();
    return status.ok() ? absl::OkStatus() : AgentError(status);
  });
}

// start, stop, restart: the RPC, then what became of the module.
int RunModuleCommand(const CommandContext& context, const std::string& command,
                     const std::string& module) {
  return WithAgent(context, [&](v1::Agent::Stub& agent) -> absl::Status {
    v1::Module response;
    grpc::Status status;
    if (command == "start") {
      v1::StartModuleRequest request;
      request.set_name(module);
      status = agent.StartModule(RpcContext().get(), request, &response);
    } else if (command == "stop") {
      v1::StopModuleRequest request;
      request.set_name(module);
      status = agent.StopModule(RpcContext().get(), request, &response);
    } else {
      v1::RestartModuleRequest request;
      request.set_name(module);
      status = agent.RestartModule(RpcContext().get(), request, &response);
    }
    if (!status.ok()) return AgentError(status);
    if (context.format == OutputFormat::kJson) {
      *context.out << ModuleJson(response, absl::Now()).dump(2) << "\n";
    } else if (command == "stop") {
      *context.out << module << ": stopped; it stays stopped until `edgectl start " << module
                   << "`, `edgectl restart " << module << "` or the next deployment\n";
    } else {
      *context.out << module << ": " << ModuleStatusText(response) << " (pid " << response.pid()
                   << ")\n";
    }
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<absl::Time> ParseSince(const std::string& text, absl::Time now) {
  absl::Duration back;
  if (absl::ParseDuration(text, &back)) {
    if (back < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--since: \"", text, "\" is negative; give how long ago, like 10m"));
    }
    return now - back;
  }
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  return absl::InvalidArgumentError(absl::StrCat(
      "--since: \"", text,
      "\" is neither a duration (10m, 1h30m) nor an RFC 3339 time (2026-01-02T15:04:05Z)"));
}

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
    case v1::MODULE_STATE_RUNNING: {
      std::string text = absl::StrCat("Up ", since(module.started_unix_ms()));
      if (module.health() == v1::MODULE_HEALTH_STARTING) {
        absl::StrAppend(&text, " (health: starting)");
      } else if (const char* health = HealthName(module.health())) {
        absl::StrAppend(&text, " (", health, ")");
      }
      return text;
    }
    case v1::MODULE_STATE_EXITED: {
      std::string text = absl::StrCat("Exited ", since(module.finished_unix_ms()), " ago");
      if (module.signal() != 0) absl::StrAppend(&text, " (", module.description(), ")");
      if (module.held_stopped()) absl::StrAppend(&text, " (stopped by edgectl stop)");
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

  auto logs_options = std::make_shared<LogsOptions>();
  CLI::App* logs = app.add_subcommand("logs", "a module's output (stdout and stderr)");
  logs->add_option("MODULE", logs_options->module)->required();
  logs->add_option("--tail", logs_options->tail,
                   "only the last N lines (default: all that is kept)")
      ->check(CLI::NonNegativeNumber);
  logs->add_option("--since", logs_options->since,
                   "only lines since T: a duration back from now (10m, 1h30m) or an RFC 3339 time "
                   "(2026-01-02T15:04:05Z)");
  logs->add_flag("-f,--follow", logs_options->follow,
                 "keep printing new output until Ctrl-C or the module is removed");
  logs->callback(
      [=] { *action = [=](const CommandContext& c) { return Logs(c, *logs_options); }; });

  for (const auto& [command, help] : std::vector<std::pair<std::string, std::string>>{
           {"start", "start a module (ends an `edgectl stop`)"},
           {"stop", "stop a module; it stays stopped until start, restart or the next deployment"},
           {"restart", "stop a module if it runs and start it again"}}) {
    auto module = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(command, help);
    sub->add_option("MODULE", *module)->required();
    sub->callback([=, command = command] {
      *action = [=](const CommandContext& c) { return RunModuleCommand(c, command, *module); };
    });
  }
}

}  // namespace edge::cli
