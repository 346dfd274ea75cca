#include "services/agent/runtime/process_runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <iterator>
#include <optional>
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
#include "services/agent/monitor/log_lines.h"
#include "services/agent/monitor/module_monitor.h"

namespace edge::agent {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(5);
// How long Stop waits beyond the module's grace for the monitor to record the end.
constexpr absl::Duration kStopSlack = absl::Seconds(5);
// Exec keeps the end of a command's output, as Docker keeps for a health check.
constexpr size_t kExecOutputBytes = 4096;

std::string ReadWhole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The JSON object in `path`; discarded (is_discarded()) when absent or unreadable.
nlohmann::json ReadJson(const std::filesystem::path& path) {
  return nlohmann::json::parse(ReadWhole(path), nullptr, /*allow_exceptions=*/false);
}

// The bytes of `path` from `offset` to its end; `*file` receives its inode (0 when it is absent).
std::string ReadFrom(const std::filesystem::path& path, int64_t offset, uint64_t* file) {
  *file = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st = {};
  std::string text;
  if (::fstat(fd, &st) == 0) {
    *file = st.st_ino;
    if (st.st_size > offset) {
      text.resize(static_cast<size_t>(st.st_size - offset));
      const ssize_t n = ::pread(fd, text.data(), text.size(), offset);
      text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
  }
  ::close(fd);
  return text;
}

uint64_t FileId(const std::filesystem::path& path) {
  struct stat st = {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The module's environment: its config's, plus `default_path` as PATH when it sets none.
std::vector<std::pair<std::string, std::string>> ModuleEnv(const ModuleConfig& config,
                                                           const std::string& default_path) {
  std::vector<std::pair<std::string, std::string>> env = config.env;
  if (std::none_of(env.begin(), env.end(), [](const auto& kv) { return kv.first == "PATH"; })) {
    env.emplace_back("PATH", default_path);
  }
  return env;
}

// `program` as execvp would find it in `env`'s PATH; nullopt when it is not there.
std::optional<std::filesystem::path> FindProgram(
    const std::string& program, const std::vector<std::pair<std::string, std::string>>& env) {
  if (program.find('/') != std::string::npos) return program;
  for (const auto& [key, value] : env) {
    if (key != "PATH") continue;
    for (absl::string_view dir : absl::StrSplit(value, ':', absl::SkipEmpty())) {
      std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / program;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return std::nullopt;
}

// The last `tail_lines` lines of `text` (a final line without a newline counts); 0: all.
std::string TailLines(std::string text, int tail_lines) {
  if (tail_lines <= 0) return text;
  size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;
  for (int lines = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++lines == tail_lines) break;
  }
  return text.substr(start);
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
  std::vector<std::pair<std::string, std::string>> env = ModuleEnv(config, options_.default_path);
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

absl::StatusOr<LogText> ProcessRuntime::ReadLogs(const std::string& name, const LogQuery& query) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReadConfig(name).status());
  }
  const std::filesystem::path dir = StateDir(name);
  std::string all;
  uint64_t file = 0;
  for (int n = options_.log_files; n >= 1; --n) {
    all += ReadFrom(dir / absl::StrCat("output.log.", n), 0, &file);
  }
  const size_t before_current = all.size();
  all += ReadFrom(dir / "output.log", 0, &file);
  LogText logs;
  logs.end = {.file = file, .offset = static_cast<int64_t>(all.size() - before_current)};
  logs.text =
      TailLines(UnstampLines(all, query.since, false, &logs.end.mid_line), query.tail_lines);
  return logs;
}

absl::StatusOr<LogText> ProcessRuntime::ReadLogsAfter(const std::string& name,
                                                      const LogCursor& after) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(ReadConfig(name).status());
  }
  if (after.file == 0) return ReadLogs(name, {});
  const std::filesystem::path dir = StateDir(name);
  // Where the cursor's file is now: still output.log, or rotated to output.log.<n> (0: neither;
  // rotated away altogether, output.log is read from its start).
  int rotated = 0;
  if (FileId(dir / "output.log") != after.file) {
    for (int n = 1; n <= options_.log_files && rotated == 0; ++n) {
      if (FileId(dir / absl::StrCat("output.log.", n)) == after.file) rotated = n;
    }
  }
  // What was written since, file by file, oldest first.
  struct Piece {
    uint64_t file;
    int64_t start;
    std::string text;
  };
  std::vector<Piece> pieces;
  for (int n = rotated; n >= 1; --n) {
    Piece piece{.file = 0, .start = n == rotated ? after.offset : 0, .text = {}};
    piece.text = ReadFrom(dir / absl::StrCat("output.log.", n), piece.start, &piece.file);
    pieces.push_back(std::move(piece));
  }
  Piece current{.file = 0, .start = 0, .text = {}};
  if (rotated == 0 && FileId(dir / "output.log") == after.file) current.start = after.offset;
  current.text = ReadFrom(dir / "output.log", current.start, &current.file);
  pieces.push_back(std::move(current));

  // Only whole lines are taken, so that a read never ends inside a line's time stamp: the cursor
  // goes just after the last newline.
  LogText logs;
  logs.end = after;
  std::string raw;
  for (size_t i = pieces.size(); i-- > 0;) {
    const size_t newline = pieces[i].text.rfind('\n');
    if (pieces[i].file == 0 || newline == std::string::npos) continue;
    logs.end = {.file = pieces[i].file,
                .offset = pieces[i].start + static_cast<int64_t>(newline) + 1,
                .mid_line = false};
    for (size_t k = 0; k < i; ++k) raw += pieces[k].text;
    raw.append(pieces[i].text, 0, newline + 1);
    break;
  }
  logs.text = UnstampLines(raw, absl::InfinitePast(), after.mid_line);
  return logs;
}

absl::StatusOr<ExecResult> ProcessRuntime::Exec(const std::string& name,
                                                const std::vector<std::string>& argv,
                                                absl::Duration timeout) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("exec: no program to run");
  }
  ModuleConfig config;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(config, ReadConfig(name));
  }
  const std::filesystem::path dir = StateDir(name);
  std::vector<std::pair<std::string, std::string>> env = ModuleEnv(config, options_.default_path);
  std::optional<std::filesystem::path> program = FindProgram(argv[0], env);
  if (!program.has_value()) {
    return absl::NotFoundError(absl::StrCat("exec: \"", argv[0], "\" is not in the module's PATH"));
  }
  std::vector<std::string> args = argv;
  args[0] = program->string();
  const std::filesystem::path output = dir / absl::StrCat("exec-", execs_++, ".out");
  ASSIGN_OR_RETURN(Subprocess process,
                   Subprocess::Start({.argv = std::move(args),
                                      .env = std::move(env),
                                      .inherit_env = false,
                                      .log_file = output,
                                      .new_session = true,
                                      .working_directory =
                                          config.working_dir.empty() ? dir : config.working_dir}));
  absl::StatusOr<int> waited = process.Wait(timeout);
  const bool timed_out = !waited.ok();
  ::kill(-process.pid(), SIGKILL);  // its session: what it left behind, or all of it at a timeout
  if (timed_out) waited = process.Wait(absl::Seconds(5));
  std::string text = ReadWhole(output);
  std::filesystem::remove(output);
  if (timed_out || !waited.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("timed out after ", absl::FormatDuration(timeout)));
  }
  ExecResult result;
  if (text.size() > kExecOutputBytes) text.erase(0, text.size() - kExecOutputBytes);
  result.output = std::move(text);
  result.exit_code = WIFEXITED(*waited) ? WEXITSTATUS(*waited) : 128 + WTERMSIG(*waited);
  return result;
}

}  // namespace edge::agent
