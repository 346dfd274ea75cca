// ModuleRuntime: what the agent's reconciler needs from whatever runs modules — the embedded
// process runtime (process_runtime.h) now, a Docker-compatible engine later. Modules are named;
// the runtime keeps each module's configuration with it, as a container engine keeps a container's.
//
// Example:
//   RETURN_IF_ERROR(runtime.Create({.name = "sensor", .argv = {"/usr/bin/sensor"}}));
//   RETURN_IF_ERROR(runtime.Start("sensor"));
//   ASSIGN_OR_RETURN(ModuleStatus status, runtime.Inspect("sensor"));  // kRunning, pid, started_at
//   RETURN_IF_ERROR(runtime.Stop("sensor"));                           // SIGTERM, then SIGKILL
//   ASSIGN_OR_RETURN(LogText logs, runtime.ReadLogs("sensor", {.tail_lines = 10}));
//   ASSIGN_OR_RETURN(LogText more, runtime.ReadLogsAfter("sensor", logs.end));  // what came since
#ifndef EDGE_SERVICES_AGENT_RUNTIME_MODULE_RUNTIME_H_
#define EDGE_SERVICES_AGENT_RUNTIME_MODULE_RUNTIME_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace edge::agent {

// How to run a module: the program and the environment it gets.
struct ModuleConfig {
  std::string name = {};               // a module id (common/identity_id.h)
  std::vector<std::string> argv = {};  // program (PATH searched) and arguments
  // The module's whole environment: nothing of the agent's is added.
  std::vector<std::pair<std::string, std::string>> env = {};
  std::filesystem::path working_dir = {};         // empty: the module's state directory
  int64_t memory_bytes = 0;                       // address-space limit; 0: none
  absl::Duration stop_grace = absl::Seconds(10);  // SIGTERM → SIGKILL
  // Opaque to the runtime: the reconciler's fingerprint of the spec this config came from, so
  // that it can tell whether a running module is the one a deployment wants.
  std::string spec_hash = {};
};

enum class ModuleState {
  kCreated,  // never started, or started again and not yet running
  kRunning,
  kExited,  // ran and ended: exit_code, signal, description
  kDead,    // was running, but its monitor is gone without recording an end
};

// Which lines of a module's output GetLogs wants: `since` first, then the last `tail_lines` of
// those (0: all).
struct LogQuery {
  int tail_lines = 0;
  absl::Time since = absl::InfinitePast();
};

// Where a read of a module's output ended, for reading on from there (`logs -f`). Opaque to
// callers; a default cursor reads from the oldest output kept.
struct LogCursor {
  uint64_t file = 0;      // the runtime's identity of the file (an inode)
  int64_t offset = 0;     // bytes into it
  bool mid_line = false;  // the text read so far ends inside a line
};

struct LogText {
  std::string text;  // the module's output: whole lines, the last one maybe unfinished
  LogCursor end;     // where `text` ends
};

// What a command run in a module's context (Exec) did.
struct ExecResult {
  int exit_code = 0;   // the exit status, or 128 + signal
  std::string output;  // stdout and stderr together, at most the last 4 KiB (as Docker keeps)
};

struct ModuleStatus {
  ModuleConfig config = {};
  ModuleState state = ModuleState::kCreated;
  pid_t pid = 0;  // kRunning: the module's main process
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();
  int exit_code = 0;  // kExited: the exit status, or 128 + signal
  int signal = 0;
  std::string description = {};  // kExited: "exited with 3", "killed by SIGKILL"
};

class ModuleRuntime {
 public:
  virtual ~ModuleRuntime() = default;
  // Records the module's configuration. ALREADY_EXISTS when a module of that name exists;
  // INVALID_ARGUMENT for a bad name or an empty argv.
  virtual absl::Status Create(const ModuleConfig& config) = 0;
  // Starts a created or exited module and returns once it runs. NOT_FOUND for an unknown module;
  // FAILED_PRECONDITION when it is already running.
  virtual absl::Status Start(const std::string& name) = 0;
  // Stops a running module (SIGTERM, SIGKILL after its stop grace) and returns once it ended; OK
  // when it was not running. NOT_FOUND for an unknown module.
  virtual absl::Status Stop(const std::string& name) = 0;
  // Stops the module if needed and forgets it (its logs too). NOT_FOUND for an unknown module.
  virtual absl::Status Remove(const std::string& name) = 0;
  virtual absl::StatusOr<ModuleStatus> Inspect(const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<ModuleStatus>> List() = 0;
  // The module's output (stdout and stderr together) that `query` selects, and where it ends.
  // NOT_FOUND for an unknown module.
  virtual absl::StatusOr<LogText> ReadLogs(const std::string& name, const LogQuery& query) = 0;
  // The whole lines written after `after` (empty text when there are none yet; an unfinished line
  // waits for its end). NOT_FOUND once the module is gone, which is how a follower learns that it
  // was removed.
  virtual absl::StatusOr<LogText> ReadLogsAfter(const std::string& name,
                                                const LogCursor& after) = 0;
  // Runs `argv` (a program, PATH searched in the module's environment, and its arguments) as the
  // module's health check does: with the module's environment and working directory, for at most
  // `timeout` (then it is killed and the result is DEADLINE_EXCEEDED). NOT_FOUND for an unknown
  // module; INVALID_ARGUMENT for an empty argv; NOT_FOUND naming the program when it cannot be
  // found. A command that ran is OK whatever its exit code.
  virtual absl::StatusOr<ExecResult> Exec(const std::string& name,
                                          const std::vector<std::string>& argv,
                                          absl::Duration timeout) = 0;

  // The last `tail_lines` lines of the module's output; 0: all that is kept.
  absl::StatusOr<std::string> Logs(const std::string& name, int tail_lines) {
    absl::StatusOr<LogText> logs = ReadLogs(name, {.tail_lines = tail_lines});
    if (!logs.ok()) return logs.status();
    return std::move(logs->text);
  }
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_RUNTIME_MODULE_RUNTIME_H_
