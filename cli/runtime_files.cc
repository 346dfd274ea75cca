#include "cli/runtime_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/edge_home.h"
#include "nlohmann/json.hpp"

namespace edge::cli {
namespace {

constexpr int kStateVersion = 1;
constexpr uint64_t kMaxTailBytes = 64 * 1024;

nlohmann::json TimeToJson(absl::Time time) {
  if (time == absl::InfinitePast()) return nullptr;
  return FormatTimestamp(time);
}

// Throws nlohmann::json::exception for a value of the wrong type; StateFromJson turns that into a
// Status.
absl::Time TimeFromJson(const nlohmann::json& value, absl::string_view field) {
  if (value.is_null()) return absl::InfinitePast();
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value.get<std::string>(), &time, &error)) {
    throw std::invalid_argument(absl::StrCat(field, ": ", error));
  }
  return time;
}

absl::StatusOr<RunState> RunStateFromName(absl::string_view name) {
  for (RunState state : {RunState::kRunning, RunState::kRestarting, RunState::kStopped}) {
    if (name == RunStateName(state)) return state;
  }
  return absl::DataLossError(absl::StrCat("unknown service state \"", name, "\""));
}

std::string ReadWholeFile(const std::filesystem::path& path, uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

std::filesystem::path SupervisorPidFile(const std::filesystem::path& home) {
  return RunDir(home) / "supervisor.pid";
}
std::filesystem::path SupervisorLockFile(const std::filesystem::path& home) {
  return RunDir(home) / "supervisor.lock";
}
std::filesystem::path StateFile(const std::filesystem::path& home) {
  return RunDir(home) / "supervisor.json";
}
std::filesystem::path SupervisorLogFile(const std::filesystem::path& home) {
  return LogDir(home) / "supervisor.log";
}
std::filesystem::path ServicePidFile(const std::filesystem::path& home, absl::string_view service) {
  return RunDir(home) / absl::StrCat(service, ".pid");
}
std::filesystem::path ServiceLogFile(const std::filesystem::path& home, absl::string_view service) {
  return LogDir(home) / absl::StrCat(service, ".log");
}

absl::StatusOr<SupervisorLock> SupervisorLock::Acquire(const std::filesystem::path& path) {
  // O_CLOEXEC: services must not inherit (and so keep holding) the lock.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return absl::AlreadyExistsError(absl::StrCat("another process holds ", path.string()));
    }
    return absl::InternalError(
        absl::StrCat("cannot lock ", path.string(), ": ", std::strerror(error)));
  }
  return SupervisorLock(fd);
}

SupervisorLock::SupervisorLock(SupervisorLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

SupervisorLock::~SupervisorLock() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status WritePidFile(const std::filesystem::path& path, pid_t pid) {
  return WriteFileAtomically(path, absl::StrCat(pid, "\n"));
}

absl::StatusOr<pid_t> ReadPidFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path.string(), " does not exist"));
  }
  std::string text = ReadWholeFile(path, 0);
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) {
    return absl::DataLossError(absl::StrCat(path.string(), " does not hold a pid"));
  }
  return static_cast<pid_t>(pid);
}

void RemoveFileIfPresent(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

const char* RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kRestarting:
      return "restarting";
    case RunState::kStopped:
      return "stopped";
  }
  return "unknown";
}

std::string StateToJson(const SupervisorState& state) {
  nlohmann::json services = nlohmann::json::array();
  for (const ServiceState& s : state.services) {
    services.push_back({
        {"name", s.name},
        {"binary", s.binary},
        {"listen", s.listen},
        {"state", RunStateName(s.state)},
        {"pid", s.pid},
        {"started_at", TimeToJson(s.started_at)},
        {"restarts", s.restarts},
        {"last_exit", s.last_exit},
        {"last_exit_at", TimeToJson(s.last_exit_at)},
        {"next_start_at", TimeToJson(s.next_start_at)},
    });
  }
  nlohmann::json doc = {
      {"version", kStateVersion},
      {"supervisor_pid", state.supervisor_pid},
      {"started_at", TimeToJson(state.started_at)},
      {"updated_at", TimeToJson(state.updated_at)},
      {"services", std::move(services)},
      {"not_installed", state.not_installed},
  };
  return doc.dump(2) + "\n";
}

absl::StatusOr<SupervisorState> StateFromJson(absl::string_view json) {
  // nlohmann::json reports malformed input and wrong types by throwing; nothing escapes here.
  try {
    nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end());
    if (doc.value("version", 0) != kStateVersion) {
      return absl::DataLossError(
          absl::StrCat("unsupported state version (expected ", kStateVersion, ")"));
    }
    SupervisorState state;
    state.supervisor_pid = doc.at("supervisor_pid").get<pid_t>();
    state.started_at = TimeFromJson(doc.at("started_at"), "started_at");
    state.updated_at = TimeFromJson(doc.at("updated_at"), "updated_at");
    for (const nlohmann::json& s : doc.at("services")) {
      ServiceState service;
      service.name = s.at("name").get<std::string>();
      service.binary = s.at("binary").get<std::string>();
      service.listen = s.at("listen").get<std::string>();
      absl::StatusOr<RunState> run_state = RunStateFromName(s.at("state").get<std::string>());
      if (!run_state.ok()) return run_state.status();
      service.state = *run_state;
      service.pid = s.at("pid").get<pid_t>();
      service.started_at = TimeFromJson(s.at("started_at"), "started_at");
      service.restarts = s.at("restarts").get<int>();
      service.last_exit = s.at("last_exit").get<std::string>();
      service.last_exit_at = TimeFromJson(s.at("last_exit_at"), "last_exit_at");
      service.next_start_at = TimeFromJson(s.at("next_start_at"), "next_start_at");
      state.services.push_back(std::move(service));
    }
    state.not_installed = doc.at("not_installed").get<std::vector<std::string>>();
    return state;
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("malformed supervisor state: ", e.what()));
  }
}

absl::Status WriteStateFile(const std::filesystem::path& path, const SupervisorState& state) {
  return WriteFileAtomically(path, StateToJson(state));
}

absl::StatusOr<SupervisorState> ReadStateFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path.string(), " does not exist"));
  }
  absl::StatusOr<SupervisorState> state = StateFromJson(ReadWholeFile(path, 0));
  if (!state.ok()) {
    return absl::DataLossError(absl::StrCat(path.string(), ": ", state.status().message()));
  }
  return state;
}

uint64_t FileSize(const std::filesystem::path& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

std::vector<std::string> TailLines(const std::filesystem::path& path, uint64_t offset,
                                   size_t max_lines) {
  uint64_t size = FileSize(path);
  if (size <= offset) return {};
  std::string text = ReadWholeFile(path, std::max(offset, size - std::min(size, kMaxTailBytes)));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - max_lines);
  return lines;
}

std::string FormatTimestamp(absl::Time time) {
  if (time == absl::InfinitePast()) return "";
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

}  // namespace edge::cli
