#include "cli/runtime_control.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/route_commands.h"
#include "cli/runtime_files.h"
#include "cli/service_binaries.h"
#include "cli/table.h"
#include "common/certs.h"
#include "common/config.h"
#include "common/edge_home.h"
#include "common/health_check.h"
#include "common/procfs.h"
#include "common/service_runner.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "nlohmann/json.hpp"

namespace edge::cli {
namespace {

constexpr absl::Duration kUpPollInterval = absl::Milliseconds(20);
constexpr absl::Duration kUpHealthTimeout = absl::Milliseconds(500);
constexpr absl::Duration kSupervisorKillWait = absl::Seconds(5);
constexpr size_t kLogTailLines = 20;

// The name our own binary runs under, which is also the supervisor's (it is a re-exec of it).
std::string SelfProgramName() {
  absl::StatusOr<std::filesystem::path> self = SelfExecutable();
  return self.ok() ? self->filename().string() : "edgectl";
}

// The supervisor's pid when one is running for `home`. The pidfile alone is not trusted: the pid
// must be alive and be `edgectl supervise --edge-home <home>`.
std::optional<pid_t> RunningSupervisor(const std::filesystem::path& home) {
  absl::StatusOr<pid_t> pid = ReadPidFile(SupervisorPidFile(home));
  if (!pid.ok() || !IsRuntimeProcess(*pid, SelfProgramName(), home)) return std::nullopt;
  std::vector<std::string> args = ProcessArgs(*pid);
  if (std::find(args.begin(), args.end(), "supervise") == args.end()) return std::nullopt;
  return *pid;
}

// Services a pidfile names that are still alive: after a clean supervisor exit there are none;
// after the supervisor was SIGKILLed its services keep running (and holding their sockets).
std::vector<std::pair<std::string, pid_t>> LeftoverServices(const std::filesystem::path& home) {
  std::vector<std::pair<std::string, pid_t>> leftovers;
  for (const char* name : kServiceNames) {
    absl::StatusOr<pid_t> pid = ReadPidFile(ServicePidFile(home, name));
    if (pid.ok() && IsRuntimeProcess(*pid, absl::StrCat("edge-", name), home)) {
      leftovers.emplace_back(name, *pid);
    }
  }
  return leftovers;
}

// Stops LeftoverServices in reverse start order and removes every service pidfile. Returns false
// if one could not be stopped.
bool StopLeftoverServices(const std::filesystem::path& home, std::ostream& out) {
  bool ok = true;
  std::vector<std::pair<std::string, pid_t>> leftovers = LeftoverServices(home);
  for (auto it = leftovers.rbegin(); it != leftovers.rend(); ++it) {
    const auto& [name, pid] = *it;
    StopOutcome outcome = TerminateProcess(pid, kServiceStopGrace);
    out << "stopped " << name << " (pid " << pid
        << ") left behind by a supervisor that is gone: " << DescribeStopOutcome(outcome) << "\n";
    ok = ok && outcome != StopOutcome::kStuck;
  }
  for (const char* name : kServiceNames) RemoveFileIfPresent(ServicePidFile(home, name));
  return ok;
}

// SIGTERM, wait for it to stop its services and exit, SIGKILL after `timeout`. Returns false if it
// would not die.
bool StopSupervisor(pid_t pid, absl::Duration timeout, std::ostream& err) {
  if (::kill(pid, SIGTERM) != 0 && errno == ESRCH) return true;
  if (WaitForProcessExit(pid, timeout)) return true;
  err << "edgectl: the supervisor (pid " << pid << ") did not stop within "
      << absl::FormatDuration(timeout) << "; killing it\n";
  ::kill(pid, SIGKILL);
  return WaitForProcessExit(pid, kSupervisorKillWait);
}

// Everything Down does after finding (or not) the supervisor. Returns false if a process would
// not stop.
bool StopRuntime(const std::filesystem::path& home, std::optional<pid_t> supervisor,
                 absl::Duration timeout, std::ostream& out, std::ostream& err) {
  bool ok = true;
  if (supervisor.has_value()) ok = StopSupervisor(*supervisor, timeout, err);
  // After a clean supervisor exit there are no service pidfiles left; after a SIGKILL there are.
  ok = StopLeftoverServices(home, out) && ok;
  RemoveFileIfPresent(SupervisorPidFile(home));
  return ok;
}

// Starts `edgectl supervise` as a daemon: its own session (no controlling terminal, out of the
// shell's process group), output to logs/supervisor.log, working in EDGE_HOME (not the caller's
// directory, which it must not keep busy), and no other inherited descriptor — a caller reading
// our output through a pipe must see EOF when we exit, not when the supervisor does.
absl::StatusOr<pid_t> SpawnSupervisor(const UpOptions& options) {
  ASSIGN_OR_RETURN(std::filesystem::path self, SelfExecutable());
  ASSIGN_OR_RETURN(
      Subprocess supervisor,
      Subprocess::Start(
          {.argv = {self.string(), "supervise", "--edge-home", options.edge_home.string(),
                    "--bin-dir", options.bin_dir.string(), "--log-level", options.log_level},
           .log_file = SupervisorLogFile(options.edge_home),
           .new_session = true,
           .working_directory = options.edge_home}));
  return supervisor.Release();
}

void PrintLogTail(const std::filesystem::path& log, uint64_t offset, std::ostream& err) {
  std::vector<std::string> lines = TailLines(log, offset, kLogTailLines);
  if (lines.empty()) {
    err << "  (" << log.string() << " has nothing new)\n";
    return;
  }
  err << "  last lines of " << log.string() << ":\n";
  for (const std::string& line : lines) err << "  | " << line << "\n";
}

const ServiceState* FindService(const SupervisorState& state, const std::string& name) {
  for (const ServiceState& s : state.services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string FormatSeconds(absl::Duration d) {
  return absl::StrFormat("%.2fs", absl::ToDoubleSeconds(d));
}

// "42s", "3m12s", "2h03m", "4d02h": short enough for a table column.
std::string FormatUptime(absl::Duration d) {
  int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

// One service of `edgectl up`.
struct Awaited {
  std::string name;
  std::string listen;
  uint64_t log_offset = 0;
  pid_t pid = 0;
  bool healthy = false;
  absl::Status last_check = absl::UnavailableError("not started yet");
};

}  // namespace

int Up(const UpOptions& options, std::ostream& out, std::ostream& err) {
  const absl::Time begin = absl::Now();
  const std::filesystem::path& home = options.edge_home;
  auto fail = [&](int code, absl::string_view message) {
    err << "edgectl up: " << message << "\n";
    return code;
  };

  std::error_code ec;
  // An existing home keeps its mode: it may be the operator's own directory.
  if (!std::filesystem::exists(home, ec)) {
    if (absl::Status s = EnsureDirectory(home, 0750); !s.ok())
      return fail(kExitFailure, s.message());
  }
  for (const std::filesystem::path& dir : {RunDir(home), LogDir(home)}) {
    if (absl::Status s = EnsureDirectory(dir, 0750); !s.ok())
      return fail(kExitFailure, s.message());
  }
  if (!std::filesystem::exists(ConfigPath(home), ec)) {
    if (absl::Status s = WriteFileAtomically(ConfigPath(home), Config::DefaultText()); !s.ok()) {
      return fail(kExitFailure, s.message());
    }
    out << "wrote the default configuration to " << ConfigPath(home).string() << "\n";
  }
  absl::StatusOr<Config> config = Config::LoadFile(ConfigPath(home));
  if (!config.ok()) return fail(kExitUsage, config.status().message());
  // The hub serves TLS with these; a home that has them (made by `edgectl certs init`, or the
  // operator's own) keeps them.
  if (!EdgeCertificatesPresent(CertsDir(home))) {
    absl::StatusOr<DeviceConfig> device = DeviceConfig::FromConfig(*config);
    if (!device.ok()) return fail(kExitUsage, device.status().message());
    if (absl::Status s = CreateEdgeCertificates(CertsDir(home), device->hostname, /*force=*/false);
        !s.ok()) {
      if (absl::IsAlreadyExists(s)) {
        return fail(kExitFailure,
                    absl::StrCat(CertsDir(home).string(),
                                 " has only some of the certificate files; run `edgectl certs "
                                 "init --force` to replace them all"));
      }
      return fail(absl::IsInvalidArgument(s) ? kExitUsage : kExitFailure, s.message());
    }
    out << "created the device CA and the hub server certificate in " << CertsDir(home).string()
        << "\n";
  }

  if (std::optional<pid_t> pid = RunningSupervisor(home)) {
    out << "the edge runtime is already running (supervisor pid " << *pid << ", EDGE_HOME "
        << home.string() << "); see `edgectl status`\n";
    return kExitOk;
  }
  {
    // Holding the supervisor lock proves no supervisor is starting or running for this home, so
    // the services pidfiles name are really leftovers of a dead one (killed -9, crashed) that
    // still hold their sockets.
    absl::StatusOr<SupervisorLock> lock = SupervisorLock::Acquire(SupervisorLockFile(home));
    if (absl::IsAlreadyExists(lock.status())) {
      out << "the edge runtime is already running or starting (EDGE_HOME " << home.string()
          << "); see `edgectl status`\n";
      return kExitOk;
    }
    if (!lock.ok()) return fail(kExitFailure, lock.status().message());
    if (!StopLeftoverServices(home, out)) {
      return fail(kExitFailure, "a service left behind by an earlier run would not stop");
    }
    RemoveFileIfPresent(SupervisorPidFile(home));
    // The previous supervisor's view must not be mistaken for the new one's.
    RemoveFileIfPresent(StateFile(home));
  }

  std::vector<Awaited> awaited;
  for (const ServiceBinary& binary : FindServiceBinaries(options.bin_dir)) {
    if (!binary.installed) {
      out << binary.name << ": not installed (no " << binary.path.string() << "); skipping\n";
      continue;
    }
    absl::StatusOr<ListenAddress> listen = ServiceListenAddress(*config, home, binary.name);
    if (!listen.ok()) return fail(kExitUsage, listen.status().message());
    awaited.push_back({.name = binary.name,
                       .listen = listen->grpc_target,
                       .log_offset = FileSize(ServiceLogFile(home, binary.name))});
  }
  if (awaited.empty()) {
    return fail(kExitFailure,
                absl::StrCat("no service binaries (edge-store, ...) in ", options.bin_dir.string(),
                             "; set EDGE_BIN_DIR to where they are installed"));
  }

  const uint64_t supervisor_log_offset = FileSize(SupervisorLogFile(home));
  absl::StatusOr<pid_t> supervisor = SpawnSupervisor(options);
  if (!supervisor.ok()) return fail(kExitFailure, supervisor.status().message());

  const absl::Time deadline = absl::Now() + options.timeout;
  const Awaited* failed = nullptr;
  std::string failure;
  while (true) {
    int wait_status = 0;
    if (::waitpid(*supervisor, &wait_status, WNOHANG) == *supervisor) {
      if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == kExitSupervisorAlreadyRunning) {
        // Another `edgectl up` for this home won the race for the supervisor lock.
        out << "the edge runtime is already running (started by a concurrent `edgectl up`); see "
               "`edgectl status`\n";
        return kExitOk;
      }
      err << "edgectl up: the supervisor " << DescribeWaitStatus(wait_status)
          << " before the services were healthy\n";
      PrintLogTail(SupervisorLogFile(home), supervisor_log_offset, err);
      StopLeftoverServices(home, out);
      return kExitFailure;
    }
    absl::StatusOr<SupervisorState> state = ReadStateFile(StateFile(home));
    if (state.ok() && state->supervisor_pid == *supervisor) {
      for (Awaited& service : awaited) {
        if (service.healthy) continue;
        const ServiceState* s = FindService(*state, service.name);
        if (s == nullptr) continue;
        if (!s->last_exit.empty()) {
          // Any exit while starting is a real problem (a bad config key, a port in use): say so
          // now rather than letting the supervisor retry until the timeout.
          failed = &service;
          failure = absl::StrCat(service.name, " ", s->last_exit, " while starting");
          break;
        }
        if (s->state != RunState::kRunning) continue;
        service.pid = s->pid;
        service.last_check = CheckHealth(service.listen, kUpHealthTimeout);
        service.healthy = service.last_check.ok();
      }
    }
    if (failed != nullptr) break;
    if (std::all_of(awaited.begin(), awaited.end(), [](const Awaited& a) { return a.healthy; })) {
      const absl::Duration took = absl::Now() - begin;
      out << "the edge runtime is up in " << FormatSeconds(took) << " (supervisor pid "
          << *supervisor << ", EDGE_HOME " << home.string() << ")\n";
      TextTable table({"SERVICE", "PID", "HEALTH", "LISTEN"});
      for (const Awaited& a : awaited) {
        table.AddRow({a.name, absl::StrCat(a.pid), "serving", a.listen});
      }
      out << table.Render();
      return kExitOk;
    }
    if (absl::Now() >= deadline) {
      failure = absl::StrCat("not every service was healthy within ",
                             absl::FormatDuration(options.timeout));
      break;
    }
    absl::SleepFor(kUpPollInterval);
  }

  err << "edgectl up: " << failure << "\n";
  for (const Awaited& service : awaited) {
    if (failed != nullptr && &service != failed) continue;
    if (failed == nullptr) {
      if (service.healthy) continue;
      err << service.name << ": " << service.last_check.message() << "\n";
    }
    PrintLogTail(ServiceLogFile(home, service.name), service.log_offset, err);
  }
  StopRuntime(home, *supervisor, DownOptions{}.timeout, out, err);
  err << "edgectl up: stopped the runtime again; fix the problem and run `edgectl up`\n";
  return kExitFailure;
}

namespace {

// The module monitors of this home's process runtime (edge-module-monitor --state-dir <home>/…).
std::vector<pid_t> ModuleMonitors(const std::filesystem::path& home) {
  const std::string prefix = home.string() + "/";
  return FindProcesses([&](const std::vector<std::string>& args) {
    if (!absl::EndsWith(args[0], "edge-module-monitor")) return false;
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      if (args[i] == "--state-dir") return absl::StartsWith(args[i + 1], prefix);
    }
    return false;
  });
}

// Modules outlive the agent (so that an agent restart does not restart them), but `down` stops
// the whole runtime: their monitors get SIGTERM (each stops its module: SIGTERM, then SIGKILL
// after the module's grace) and SIGKILL if they are still there after `timeout`.
bool StopModules(const std::filesystem::path& home, absl::Duration timeout, std::ostream& out) {
  const std::vector<pid_t> monitors = ModuleMonitors(home);
  if (monitors.empty()) return true;
  out << "stopping " << monitors.size() << " module" << (monitors.size() == 1 ? "" : "s") << "\n";
  for (pid_t pid : monitors) ::kill(pid, SIGTERM);
  bool all = true;
  const absl::Time deadline = absl::Now() + timeout;
  for (pid_t pid : monitors) {
    if (!WaitForProcessExit(pid, std::max(deadline - absl::Now(), absl::ZeroDuration()))) {
      if (TerminateProcess(pid, absl::ZeroDuration()) == StopOutcome::kStuck) all = false;
    }
  }
  return all;
}

}  // namespace

int Down(const DownOptions& options, std::ostream& out, std::ostream& err) {
  const absl::Time begin = absl::Now();
  const std::filesystem::path& home = options.edge_home;
  std::optional<pid_t> supervisor = RunningSupervisor(home);
  if (supervisor.has_value()) {
    out << "stopping the edge runtime (supervisor pid " << *supervisor << ")\n";
  }
  std::ostringstream leftovers;
  // The services first: a running agent would start the modules again.
  bool ok = StopRuntime(home, supervisor, options.timeout, leftovers, err);
  ok = StopModules(home, options.timeout, leftovers) && ok;
  out << leftovers.str();
  if (!ok) {
    err << "edgectl down: some processes would not stop; see above\n";
    return kExitFailure;
  }
  if (!supervisor.has_value() && leftovers.str().empty()) {
    out << "the edge runtime is not running (EDGE_HOME " << home.string() << ")\n";
    return kExitOk;
  }
  out << "the edge runtime is stopped (" << FormatSeconds(absl::Now() - begin) << ")\n";
  return kExitOk;
}

namespace {

// The router's view of the upstream link; nullopt when it does not answer within `timeout`.
std::optional<router::v1::UpstreamLinkStats> RouterUpstreamLink(const std::string& target,
                                                                absl::Duration timeout) {
  auto stub =
      router::v1::Router::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  router::v1::EndpointStatsRequest request;
  request.set_endpoint("$upstream");
  router::v1::EndpointStatsResponse response;
  if (!stub->EndpointStats(&call, request, &response).ok()) return std::nullopt;
  return response.upstream();
}

}  // namespace

int Status(const StatusOptions& options, std::ostream& out, std::ostream& err) {
  const std::filesystem::path& home = options.edge_home;
  const bool json = options.format == OutputFormat::kJson;
  std::optional<pid_t> supervisor = RunningSupervisor(home);
  if (!supervisor.has_value()) {
    if (json) {
      nlohmann::json doc = {{"edge_home", home.string()},
                            {"running", false},
                            {"supervisor", nullptr},
                            {"services", nlohmann::json::array()},
                            {"not_installed", nlohmann::json::array()}};
      out << doc.dump(2) << "\n";
    } else {
      err << "the edge runtime is not running (EDGE_HOME " << home.string()
          << "); start it with `edgectl up`\n";
      for (const auto& [name, pid] : LeftoverServices(home)) {
        err << name << " (pid " << pid
            << ") is still running without a supervisor; `edgectl down` stops it\n";
      }
    }
    return kExitNotRunning;
  }
  absl::StatusOr<SupervisorState> state = ReadStateFile(StateFile(home));
  if (!state.ok()) {
    err << "edgectl status: the supervisor (pid " << *supervisor
        << ") is running but its state is unavailable: " << state.status().message() << "\n";
    return kExitFailure;
  }

  const absl::Time now = absl::Now();
  bool all_serving = true;
  nlohmann::json services = nlohmann::json::array();
  TextTable table(
      {"SERVICE", "STATE", "PID", "HEALTH", "UPTIME", "RESTARTS", "LAST EXIT", "LISTEN"});
  for (const ServiceState& s : state->services) {
    std::string health = "unreachable";
    if (s.state == RunState::kRunning) {
      absl::Status check = CheckHealth(s.listen, options.health_timeout);
      if (check.ok()) {
        health = "serving";
      } else if (absl::IsFailedPrecondition(check)) {
        health = "not serving";
      }
    }
    all_serving = all_serving && health == "serving";
    const bool running = s.state == RunState::kRunning;
    std::string state_text = RunStateName(s.state);
    if (s.state == RunState::kRestarting) {
      state_text = absl::StrCat(
          "restarting in ", FormatSeconds(std::max(s.next_start_at - now, absl::ZeroDuration())));
    }
    table.AddRow({s.name, state_text, running ? absl::StrCat(s.pid) : "-", health,
                  running ? FormatUptime(now - s.started_at) : "-", absl::StrCat(s.restarts),
                  s.last_exit.empty() ? "-"
                                      : absl::StrCat(s.last_exit, " (",
                                                     FormatUptime(now - s.last_exit_at), " ago)"),
                  s.listen});
    services.push_back({
        {"name", s.name},
        {"state", RunStateName(s.state)},
        {"pid", running ? nlohmann::json(s.pid) : nlohmann::json(nullptr)},
        {"health", health},
        {"uptime_seconds", running ? nlohmann::json(absl::ToDoubleSeconds(now - s.started_at))
                                   : nlohmann::json(nullptr)},
        {"restarts", s.restarts},
        {"last_exit", s.last_exit.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_exit)},
        {"last_exit_at", s.last_exit.empty() ? nlohmann::json(nullptr)
                                             : nlohmann::json(FormatTimestamp(s.last_exit_at))},
        {"listen", s.listen},
        {"binary", s.binary},
    });
  }

  // The upstream link, as the router sees it (absent while the router does not answer).
  std::optional<router::v1::UpstreamLinkStats> upstream;
  for (const ServiceState& s : state->services) {
    if (s.name == "router" && s.state == RunState::kRunning) {
      upstream = RouterUpstreamLink(s.listen, options.health_timeout);
    }
  }

  if (json) {
    nlohmann::json upstream_json = nullptr;
    if (upstream.has_value()) {
      std::string text;
      google::protobuf::util::JsonPrintOptions print;
      print.preserve_proto_field_names = true;
      print.always_print_primitive_fields = true;
      if (google::protobuf::util::MessageToJsonString(*upstream, &text, print).ok()) {
        upstream_json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      }
    }
    nlohmann::json doc = {
        {"edge_home", home.string()},
        {"running", true},
        {"upstream", std::move(upstream_json)},
        {"supervisor",
         {{"pid", *supervisor},
          {"started_at", FormatTimestamp(state->started_at)},
          {"uptime_seconds", absl::ToDoubleSeconds(now - state->started_at)}}},
        {"services", std::move(services)},
        {"not_installed", state->not_installed},
    };
    out << doc.dump(2) << "\n";
  } else {
    out << "the edge runtime is running (supervisor pid " << *supervisor << ", up "
        << FormatUptime(now - state->started_at) << ", EDGE_HOME " << home.string() << ")\n";
    out << table.Render();
    if (upstream.has_value()) out << UpstreamLinkLine(*upstream, now) << "\n";
    if (!state->not_installed.empty()) {
      out << "not installed: " << absl::StrJoin(state->not_installed, ", ") << "\n";
    }
  }
  return all_serving ? kExitOk : kExitFailure;
}

}  // namespace edge::cli
