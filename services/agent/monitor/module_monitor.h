// ModuleMonitor: the small process that runs one module for the process runtime.
//
// edge-agent starts `edge-module-monitor` (in a session of its own, so it outlives an agent that
// stops or crashes); the monitor starts the module in a process group of its own, writes the
// module's stdout and stderr to size-capped rotated log files, and records in the module's state
// directory when the module started and how it ended. An agent that restarts reads those files to
// adopt the modules still running and to learn the exit codes of those that ended meanwhile.
//
// The state directory:
//   running.json   {"monitor_pid", "pid", "started_unix_ms"}, written when the module started
//   exit.json      {"exit_code", "signal", "finished_unix_ms", "description"}, written when it
//   ended
//                  (removed at start, so its presence means "this run is over")
//   output.log, output.log.1, ... output.log.N   stdout and stderr, newest first, every line
//                  stamped with the time it arrived (log_lines.h)
//
// SIGTERM (or SIGINT) to the monitor stops the module: SIGTERM to its process group, SIGKILL after
// the grace period. When the module's main process ends, whatever it left in its group is killed
// (as a container's processes end with it). The monitor exits 0 once exit.json is written.
//
// Example (monitor_main.cc):
//   ASSIGN_OR_RETURN(MonitorOptions options, MonitorOptions::Parse(argc, argv));
//   return ModuleMonitor(std::move(options)).Run();
#ifndef EDGE_SERVICES_AGENT_MONITOR_MODULE_MONITOR_H_
#define EDGE_SERVICES_AGENT_MONITOR_MODULE_MONITOR_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace edge::agent {

struct MonitorOptions {
  std::filesystem::path state_dir;           // --state-dir (required)
  std::filesystem::path working_dir;         // --workdir; empty: the state directory
  absl::Duration grace = absl::Seconds(10);  // --grace-seconds: SIGTERM → SIGKILL
  int64_t log_max_bytes = 10 << 20;          // --log-max-bytes: one log file's cap
  int log_files = 3;                         // --log-files: rotated files kept besides output.log
  int64_t memory_bytes = 0;                  // --memory-bytes: RLIMIT_AS of the module (0: none)
  std::vector<std::string> argv;             // after `--`: the module's program and arguments

  // INVALID_ARGUMENT naming the flag for an unknown flag, a missing value or `--`, a bad number.
  static absl::StatusOr<MonitorOptions> Parse(const std::vector<std::string>& args);
  // The arguments that Parse reads back (for the runtime that starts the monitor).
  std::vector<std::string> ToArgs() const;
};

// Appends to output.log and rotates it (output.log → .1 → .2 …, the oldest dropped) before a write
// would take it past the cap.
class RotatingLog {
 public:
  RotatingLog(std::filesystem::path dir, int64_t max_bytes, int keep);
  ~RotatingLog();
  void Write(const char* data, size_t size);

 private:
  void Open();
  void Rotate();

  const std::filesystem::path dir_;
  const int64_t max_bytes_;
  const int keep_;
  int fd_ = -1;
  int64_t size_ = 0;
};

class ModuleMonitor {
 public:
  explicit ModuleMonitor(MonitorOptions options) : options_(std::move(options)) {}
  // Runs the module to its end. Returns the monitor's exit code: 0 when the module ran (whatever
  // its own exit code, which is in exit.json), 1 when the state directory is unusable.
  int Run();

 private:
  const MonitorOptions options_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MONITOR_MODULE_MONITOR_H_
