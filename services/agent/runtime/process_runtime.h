// ProcessRuntime: the embedded module runtime. Each module is a program run directly (no container
// engine) under its own `edge-module-monitor` (services/agent/monitor/module_monitor.h), which
// survives the agent; everything about a module lives in its state directory
// `<modules_dir>/<name>/`:
//   config.json   the ModuleConfig (written by Create)
//   running.json, exit.json, output.log*   written by the monitor
//   monitor.log   the monitor's own lines
// So a new ProcessRuntime (an agent restart) finds running modules by their monitors and learns the
// exit codes of the ones that ended meanwhile, with no other bookkeeping.
//
// The module's environment is exactly its config's env (plus a default PATH when it sets none):
// nothing of the agent's own environment leaks into modules.
//
// Example:
//   ProcessRuntime runtime({.modules_dir = DataDir(home) / "modules",
//                           .monitor = BinDir() / "edge-module-monitor"});
//   RETURN_IF_ERROR(runtime.Create({.name = "sensor", .argv = {"/bin/sh", "-c", "exec sensor"}}));
//   RETURN_IF_ERROR(runtime.Start("sensor"));
#ifndef EDGE_SERVICES_AGENT_RUNTIME_PROCESS_RUNTIME_H_
#define EDGE_SERVICES_AGENT_RUNTIME_PROCESS_RUNTIME_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

// A module's PATH when neither its deployment nor its createOptions set one.
inline constexpr char kSystemPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ProcessRuntimeOptions {
  std::filesystem::path modules_dir;  // one state directory per module below it
  std::filesystem::path monitor;      // the edge-module-monitor binary
  // The PATH of a module that sets none: where a bare program name (`settings.image`) is found.
  std::string default_path = kSystemPath;
  int64_t log_max_bytes = 10 << 20;  // per log file
  int log_files = 3;                 // rotated files kept besides output.log
};

class ProcessRuntime final : public ModuleRuntime {
 public:
  explicit ProcessRuntime(ProcessRuntimeOptions options);

  absl::Status Create(const ModuleConfig& config) override;
  absl::Status Start(const std::string& name) override;
  absl::Status Stop(const std::string& name) override;
  absl::Status Remove(const std::string& name) override;
  absl::StatusOr<ModuleStatus> Inspect(const std::string& name) override;
  absl::StatusOr<std::vector<ModuleStatus>> List() override;
  absl::StatusOr<LogText> ReadLogs(const std::string& name, const LogQuery& query) override;
  absl::StatusOr<LogText> ReadLogsAfter(const std::string& name, const LogCursor& after) override;
  // Runs the command in a session of its own (killed whole at the timeout, and whatever it left
  // behind afterwards), its output in a file of the state directory that is removed afterwards.
  absl::StatusOr<ExecResult> Exec(const std::string& name, const std::vector<std::string>& argv,
                                  absl::Duration timeout) override;

 private:
  std::filesystem::path StateDir(const std::string& name) const;
  absl::StatusOr<ModuleConfig> ReadConfig(const std::string& name) const;
  // Reaps the monitors this object started that have ended (they are our children).
  void ReapMonitors();

  const ProcessRuntimeOptions options_;
  absl::Mutex mu_;  // one operation at a time: they read and write the same state files
  std::set<pid_t> monitors_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> execs_{0};  // names each Exec's output file
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_RUNTIME_PROCESS_RUNTIME_H_
