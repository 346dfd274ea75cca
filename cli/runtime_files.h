// The files the supervisor and edgectl share under $EDGE_HOME, and the supervisor's persisted view
// of its services (run/supervisor.json), which is how `edgectl status` learns pids, uptimes and
// restart counts without talking to the supervisor.
//
//   run/supervisor.pid    the supervisor's pid (written by the supervisor)
//   run/supervisor.lock   flock()ed by the running supervisor: one supervisor per $EDGE_HOME
//   run/supervisor.json   SupervisorState, rewritten atomically on every change
//   run/<service>.pid     each running service's pid
//   logs/supervisor.log   the supervisor's own log; logs/<service>.log each service's output
//
// Example:
//   ASSIGN_OR_RETURN(SupervisorState state, ReadStateFile(StateFile(home)));
//   for (const ServiceState& s : state.services) std::cout << s.name << " " << s.pid << "\n";
#ifndef EDGE_CLI_RUNTIME_FILES_H_
#define EDGE_CLI_RUNTIME_FILES_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edge::cli {

// The services edgectl knows, in start order (they stop in reverse).
inline constexpr const char* kServiceNames[] = {"store", "router", "hub", "agent"};

std::filesystem::path SupervisorPidFile(const std::filesystem::path& home);
std::filesystem::path SupervisorLockFile(const std::filesystem::path& home);
std::filesystem::path StateFile(const std::filesystem::path& home);
std::filesystem::path SupervisorLogFile(const std::filesystem::path& home);
std::filesystem::path ServicePidFile(const std::filesystem::path& home, absl::string_view service);
std::filesystem::path ServiceLogFile(const std::filesystem::path& home, absl::string_view service);

// An exclusive flock() on run/supervisor.lock. The running supervisor holds it for its whole life;
// `edgectl up` holds it briefly while it cleans up after a dead one, so that it never mistakes a
// starting supervisor's services for leftovers. The kernel drops it when the holder dies, however
// it dies, so it can never go stale. Move-only.
class SupervisorLock {
 public:
  // ALREADY_EXISTS when another process holds it; INTERNAL when the file cannot be opened.
  static absl::StatusOr<SupervisorLock> Acquire(const std::filesystem::path& path);

  SupervisorLock(SupervisorLock&& other) noexcept;
  SupervisorLock& operator=(SupervisorLock&&) = delete;
  SupervisorLock(const SupervisorLock&) = delete;
  SupervisorLock& operator=(const SupervisorLock&) = delete;
  ~SupervisorLock();

 private:
  explicit SupervisorLock(int fd) : fd_(fd) {}
  int fd_;
};

// Writes "<pid>\n" atomically.
absl::Status WritePidFile(const std::filesystem::path& path, pid_t pid);
// NOT_FOUND when the file is absent; DATA_LOSS when it does not hold a positive pid.
absl::StatusOr<pid_t> ReadPidFile(const std::filesystem::path& path);
// Removes `path` if present; errors are ignored (the file only ever helps find a process).
void RemoveFileIfPresent(const std::filesystem::path& path);

enum class RunState {
  kRunning,     // has a live process
  kRestarting,  // exited; waiting for its backoff delay before the next start
  kStopped,     // the supervisor stopped it (shutdown)
};
const char* RunStateName(RunState state);  // "running", "restarting", "stopped"

// The supervisor's view of one service. Times are absl::InfinitePast() when they never happened.
struct ServiceState {
  std::string name;
  std::string binary;  // the executable's path
  std::string listen;  // the gRPC target it serves on ("unix:/...", "host:port")
  RunState state = RunState::kStopped;
  pid_t pid = 0;  // 0 unless running
  absl::Time started_at = absl::InfinitePast();
  int restarts = 0;       // starts after the first one
  std::string last_exit;  // how it last died, e.g. "killed by SIGKILL"; empty if it never did
  absl::Time last_exit_at = absl::InfinitePast();
  absl::Time next_start_at = absl::InfinitePast();  // when restarting
};

struct SupervisorState {
  pid_t supervisor_pid = 0;
  absl::Time started_at = absl::InfinitePast();
  absl::Time updated_at = absl::InfinitePast();
  std::vector<ServiceState> services;      // in start order
  std::vector<std::string> not_installed;  // known services whose binary does not exist
};

std::string StateToJson(const SupervisorState& state);
// DATA_LOSS when `json` is not a state document (names the problem).
absl::StatusOr<SupervisorState> StateFromJson(absl::string_view json);

// Atomic, so a reader never sees half a document.
absl::Status WriteStateFile(const std::filesystem::path& path, const SupervisorState& state);
// NOT_FOUND when absent; DATA_LOSS when unreadable as a state document.
absl::StatusOr<SupervisorState> ReadStateFile(const std::filesystem::path& path);

// The file's size, 0 when it does not exist: taken before a start so that TailLines shows only
// what that start wrote.
uint64_t FileSize(const std::filesystem::path& path);
// The last `max_lines` lines of `path` from byte `offset` on (at most the last 64 KiB of them).
// Empty when the file is missing.
std::vector<std::string> TailLines(const std::filesystem::path& path, uint64_t offset,
                                   size_t max_lines);

// RFC 3339 in UTC, or "" for InfinitePast.
std::string FormatTimestamp(absl::Time time);

}  // namespace edge::cli

#endif  // EDGE_CLI_RUNTIME_FILES_H_
