#include "services/agent/runtime/process_runtime.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/edge_home.h"
#include "common/identity_id.h"
#include "common/procfs.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "nlohmann/json.hpp"
#include "services/agent/monitor/module_monitor.h"

namespace edge::agent {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(5);
// How long Stop waits beyond the module's grace for the monitor to record the end.
constexpr absl::Duration kStopSlack = absl::Seconds(5);
constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string ReadWhole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The JSON object in `path`; discarded (is_discarded()) when absent or unreadable.
nlohmann::json ReadJson(const std::filesystem::path& path) {
  return nlohmann::json::parse(ReadWhole(path), nullptr, /*allow_exceptions=*/false);
}

// A module id (IoT Hub's rule, which has no '/'), usable as a directory name.
bool ValidName(const std::string& name) {
  return name != "." && name != ".." && CheckIdPart(name).ok();
}

nlohmann::json ConfigToJson(const ModuleConfig& config) {
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [key, value] : config.env) env.push_back({key, value});
  return {{"name", config.name},
          {"argv", config.argv},
          {"env", env},
          {"working_dir", config.working_dir.string()},
          {"memory_bytes", config.memory_bytes},
          {"stop_grace_ms", absl::ToInt64Milliseconds(config.stop_grace)},
          {"spec_hash", config.spec_hash}};
}

absl::StatusOr<ModuleConfig> ConfigFromJson(const nlohmann::json& doc) {
  if (!doc.is_object()) return absl::DataLossError("config.json is not a JSON object");
  ModuleConfig config;
  try {
    config.name = doc.at("name").get<std::string>();
    config.argv = doc.at("argv").get<std::vector<std::string>>();
    for (const nlohmann::json& pair : doc.at("env")) {
      config.env.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
    }
    config.working_dir = doc.value("working_dir", "");
    config.memory_bytes = doc.value("memory_bytes", int64_t{0});
    config.stop_grace = absl::Milliseconds(doc.value("stop_grace_ms", int64_t{10000}));
    config.spec_hash = doc.value("spec_hash", "");
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("config.json: ", e.what()));
  }
  return config;
}

// True while `pid` is the monitor of the module in `state_dir`.
bool MonitorAlive(pid_t pid, const std::filesystem::path& state_dir) {
  if (pid <= 0 || !ProcessAlive(pid)) return false;
  const std::vector<std::string> args = ProcessArgs(pid);
  if (args.empty() || !absl::EndsWith(args[0], "edge-module-monitor")) return false;
  return std::find(args.begin(), args.end(), state_dir.string()) != args.end();
}

ModuleStatus StatusFromFiles(ModuleConfig config, const std::filesystem::path& dir) {
  ModuleStatus status;
  status.config = std::move(config);
  const nlohmann::json running = ReadJson(dir / "running.json");
  const nlohmann::json exited = ReadJson(dir / "exit.json");
  if (running.is_object()) {
    status.started_at = absl::FromUnixMillis(running.value("started_unix_ms", int64_t{0}));
  }
  if (exited.is_object()) {
    status.state = ModuleState::kExited;
    status.exit_code = exited.value("exit_code", 0);
    status.signal = exited.value("signal", 0);
    status.description = exited.value("description", "");
    status.finished_at = absl::FromUnixMillis(exited.value("finished_unix_ms", int64_t{0}));
  } else if (running.is_object()) {
    if (MonitorAlive(running.value("monitor_pid", 0), dir)) {
      status.state = ModuleState::kRunning;
      status.pid = running.value("pid", 0);
    } else {
      status.state = ModuleState::kDead;
      status.description = "its monitor ended without recording how the module ended";
    }
  }
  return status;
}

}  // namespace

ProcessRuntime::ProcessRuntime(ProcessRuntimeOptions options) : options_(std::move(options)) {}

std::filesystem::path ProcessRuntime::StateDir(const std::string& name) const {
  return options_.modules_dir / name;
}

absl::StatusOr<ModuleConfig> ProcessRuntime::ReadConfig(const std::string& name) const {
  if (!ValidName(name)) return absl::NotFoundError(absl::StrCat("no module \"", name, "\""));
  const std::filesystem::path path = StateDir(name) / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("no module \"", name, "\""));
  }
  return ConfigFromJson(ReadJson(path));
}

void ProcessRuntime::ReapMonitors() {
  for (auto it = monitors_.begin(); it != monitors_.end();) {
    it = ::waitpid(*it, nullptr, WNOHANG) == 0 ? std::next(it) : monitors_.erase(it);
  }
}

absl::Status ProcessRuntime::Create(const ModuleConfig& config) {
  if (!ValidName(config.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("module name \"", config.name, "\": 1-128 characters from A-Z a-z 0-9 - _ ."));
  }
  if (config.argv.empty() || config.argv[0].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("module \"", config.name, "\": no program to run"));
  }
  absl::MutexLock lock(&mu_);
  const std::filesystem::path dir = StateDir(config.name);
  std::error_code ec;
  if (std::filesystem::exists(dir / "config.json", ec)) {
    return absl::AlreadyExistsError(absl::StrCat("module \"", config.name, "\" exists"));
  }
  RETURN_IF_ERROR(EnsureDirectory(options_.modules_dir, 0750));
  RETURN_IF_ERROR(EnsureDirectory(dir, 0750));
  return WriteFileAtomically(dir / "config.json", ConfigToJson(config).dump(2) + "\n", 0600);
}

absl::Status ProcessRuntime::Start(const std::string& name) {
  absl::MutexLock lock(&mu_);
  ReapMonitors();
  ASSIGN_OR_RETURN(ModuleConfig config, ReadConfig(name));
  const std::filesystem::path dir = StateDir(name);
  if (StatusFromFiles(config, dir).state == ModuleState::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat("module \"", name, "\" is running"));
  }
  std::filesystem::remove(dir / "running.json");
  std::filesystem::remove(dir / "exit.json");

  MonitorOptions monitor;
  monitor.state_dir = dir;
  monitor.working_dir = config.working_dir;
  monitor.grace = config.stop_grace;
  monitor.log_max_bytes = options_.log_max_bytes;
  monitor.log_files = options_.log_files;
  monitor.memory_bytes = config.memory_bytes;
  monitor.argv = config.argv;
  std::vector<std::string> argv = {options_.monitor.string()};
  for (std::string& arg : monitor.ToArgs()) argv.push_back(std::move(arg));
  std::vector<std::pair<std::string, std::string>> env = config.env;
  if (std::none_of(env.begin(), env.end(), [](const auto& kv) { return kv.first == "PATH"; })) {
    env.emplace_back("PATH", kDefaultPath);
  }
  ASSIGN_OR_RETURN(Subprocess process, Subprocess::Start({.argv = std::move(argv),
                                                          .env = std::move(env),
                                                          .inherit_env = false,
                                                          .log_file = dir / "monitor.log",
                                                          .new_session = true}));
  const pid_t pid = process.pid();
  // The monitor outlives this object (and the agent); it is reaped by ReapMonitors meanwhile.
  process.Release();
  monitors_.insert(pid);

  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    const nlohmann::json running = ReadJson(dir / "running.json");
    if (running.is_object() && running.value("monitor_pid", 0) == pid) return absl::OkStatus();
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      monitors_.erase(pid);
      return absl::InternalError(absl::StrCat(
          "module \"", name, "\": its monitor ended: ", ReadWhole(dir / "monitor.log")));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return absl::DeadlineExceededError(absl::StrCat("module \"", name, "\" did not start within ",
                                                  absl::FormatDuration(kStartTimeout)));
}

absl::Status ProcessRuntime::Stop(const std::string& name) {
  absl::MutexLock lock(&mu_);
  ReapMonitors();
  ASSIGN_OR_RETURN(ModuleConfig config, ReadConfig(name));
  const std::filesystem::path dir = StateDir(name);
  if (StatusFromFiles(config, dir).state != ModuleState::kRunning) return absl::OkStatus();
  const pid_t monitor = ReadJson(dir / "running.json").value("monitor_pid", 0);
  ::kill(monitor, SIGTERM);  // the monitor escalates to SIGKILL after the grace period
  const absl::Time deadline = absl::Now() + config.stop_grace + kStopSlack;
  while (absl::Now() < deadline) {
    ReapMonitors();
    if (!MonitorAlive(monitor, dir)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::DeadlineExceededError(absl::StrCat("module \"", name, "\" did not stop"));
}

absl::Status ProcessRuntime::Remove(const std::string& name) {
  RETURN_IF_ERROR(Stop(name));
  absl::MutexLock lock(&mu_);
  std::error_code ec;
  std::filesystem::remove_all(StateDir(name), ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot remove ", StateDir(name).string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModuleStatus> ProcessRuntime::Inspect(const std::string& name) {
  absl::MutexLock lock(&mu_);
  ReapMonitors();
  ASSIGN_OR_RETURN(ModuleConfig config, ReadConfig(name));
  return StatusFromFiles(std::move(config), StateDir(name));
}

absl::StatusOr<std::vector<ModuleStatus>> ProcessRuntime::List() {
  absl::MutexLock lock(&mu_);
  ReapMonitors();
  std::vector<ModuleStatus> modules;
  std::error_code ec;
  if (!std::filesystem::exists(options_.modules_dir, ec)) return modules;
  for (const auto& entry : std::filesystem::directory_iterator(options_.modules_dir, ec)) {
    const std::string name = entry.path().filename().string();
    absl::StatusOr<ModuleConfig> config = ReadConfig(name);
    if (!config.ok()) continue;  // not a module directory, or a half-written one
    modules.push_back(StatusFromFiles(*std::move(config), entry.path()));
  }
  std::sort(modules.begin(), modules.end(), [](const ModuleStatus& a, const ModuleStatus& b) {
    return a.config.name < b.config.name;
  });
  return modules;
}

absl::StatusOr<std::string> ProcessRuntime::Logs(const std::string& name, int tail_lines) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReadConfig(name).status());
  }
  const std::filesystem::path dir = StateDir(name);
  std::string all;
  for (int n = options_.log_files; n >= 1; --n) {
    all += ReadWhole(dir / absl::StrCat("output.log.", n));
  }
  all += ReadWhole(dir / "output.log");
  if (tail_lines <= 0) return all;
  size_t start = all.size();
  // A final line without a newline counts as a line.
  if (start > 0 && all[start - 1] == '\n') --start;
  for (int lines = 0; start > 0; --start) {
    if (all[start - 1] == '\n' && ++lines == tail_lines) break;
  }
  return all.substr(start);
}

}  // namespace edge::agent
