// Subprocess: a child process started with fork/exec, its output appended to a log file, stopped
// with SIGTERM and then SIGKILL. Used by the supervisor (`edgectl up`) and by integration tests.
//
// Example:
//   ASSIGN_OR_RETURN(Subprocess store, Subprocess::Start({.argv = {"/path/edge-store"},
//                                                        .log_file = home / "logs/store.log"}));
//   ...
//   int wait_status = store.Stop(absl::Seconds(5));
#ifndef EDGE_COMMON_SUBPROCESS_H_
#define EDGE_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace edge {

struct SubprocessOptions {
  // argv[0] is the program path (no PATH search).
  std::vector<std::string> argv = {};
  // Set (or override) these variables on top of the parent's environment.
  std::vector<std::pair<std::string, std::string>> env = {};
  // False: the child gets `env` alone, nothing of the parent's environment.
  bool inherit_env = true;
  // Standard output and error are appended here; empty: inherited from the parent.
  std::filesystem::path log_file = {};
  // Start the child in its own session (setsid), detached from the parent's terminal.
  bool new_session = false;
  // The child's working directory; empty: the parent's.
  std::filesystem::path working_directory = {};
};

// Owns a running child until it has been reaped. Move-only; not thread-safe.
class Subprocess {
 public:
  // INVALID_ARGUMENT for an empty argv; INTERNAL when the log file cannot be opened or fork fails.
  // The child inherits no descriptor but 0-2 (stdin is /dev/null when there is a log file), its
  // signal mask is cleared; an exec or chdir failure shows as exit code 127.
  static absl::StatusOr<Subprocess> Start(const SubprocessOptions& options);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // SIGKILLs and reaps a child that is still running.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !wait_status_.has_value(); }

  // The wait status (see waitpid) if the child has exited; does not block.
  std::optional<int> Poll();
  // Waits up to `timeout`; DEADLINE_EXCEEDED if it is still running then.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Sends `signal` to the child (no-op once it has been reaped).
  void Signal(int signal);
  // SIGTERM, then SIGKILL after `grace`; returns the wait status.
  int Stop(absl::Duration grace);
  // Gives up ownership: the child keeps running and is no longer stopped or reaped by this object
  // (a daemon). Returns its pid.
  pid_t Release();

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
};

// "exited with 3", "killed by SIGKILL", "killed by SIGSEGV (core dumped)", for logs and errors.
std::string DescribeWaitStatus(int wait_status);

}  // namespace edge

#endif  // EDGE_COMMON_SUBPROCESS_H_
