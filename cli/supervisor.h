// Supervisor: keeps the runtime's services running. `edgectl up` starts it in the background as
// `edgectl supervise`; `edgectl down` stops it with SIGTERM.
//
// It starts each service in order, notices at once when one exits (SIGCHLD), logs how it died and
// restarts it after a RestartBackoff delay (0.5 s doubling to 30 s; reset after 60 s of running).
// On SIGTERM or SIGINT it stops the services in reverse order — SIGTERM, then SIGKILL after
// `stop_grace` — and returns. Every change is written atomically to the state file, which is how
// `edgectl status` and `edgectl up` see pids, restarts and exits.
//
// Example (the heart of `edgectl supervise`):
//   BlockSupervisorSignals();  // before any thread exists
//   Supervisor supervisor(options, SystemClock::Get());
//   supervisor.Run();          // returns after SIGTERM, with every service stopped
//
// Tests drive StartAll / Reconcile / StopAll directly with a FakeClock: restarts happen only when
// the clock passes the backoff delay, so no test sleeps through a backoff.
#ifndef EDGE_CLI_SUPERVISOR_H_
#define EDGE_CLI_SUPERVISOR_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cli/restart_backoff.h"
#include "cli/runtime_files.h"
#include "common/clock.h"
#include "common/subprocess.h"

namespace edge::cli {

struct SupervisedService {
  std::string name;
  std::vector<std::string> argv;   // argv[0] is the binary's path
  std::filesystem::path log_file;  // stdout and stderr are appended here
  std::filesystem::path pid_file;  // written while running; empty: none
  std::string listen;              // the service's gRPC target, reported in the state only
};

struct SupervisorOptions {
  std::vector<SupervisedService> services;  // start order; stopped in reverse
  std::vector<std::string> not_installed;   // reported in the state only
  std::filesystem::path state_file;         // empty: no state file
  BackoffPolicy backoff;
  // How long each service gets between SIGTERM and SIGKILL when the supervisor stops.
  absl::Duration stop_grace = absl::Seconds(10);
};

// Owns the service processes. Single-threaded: every method is called from the thread that
// created it. Destroying it with services still running SIGKILLs them; call StopAll (or Run) first.
class Supervisor {
 public:
  // `clock` is not owned and must outlive the supervisor.
  Supervisor(SupervisorOptions options, const Clock* clock);

  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every service in order. A service that cannot even be started (say, its log file
  // cannot be opened) is treated like one that exited at once: logged and retried after a backoff.
  void StartAll();

  // Reaps services that exited (logging how each died and scheduling its restart) and starts
  // those whose restart time has come. Returns when the next restart is due, or InfiniteFuture.
  absl::Time Reconcile();

  // Stops every running service in reverse order (SIGTERM, SIGKILL after stop_grace), removes
  // their pidfiles and records them as stopped. No restarts are scheduled afterwards.
  void StopAll();

  // StartAll, then Reconcile whenever a child exits or a restart is due, until SIGTERM or SIGINT;
  // then StopAll. SIGHUP is ignored. Blocks the signals it waits for itself, but they must also
  // be blocked in every other thread (BlockSupervisorSignals before threads start).
  void Run();

  // The view written to the state file.
  SupervisorState State() const;

 private:
  struct Child {
    SupervisedService spec;
    RestartBackoff backoff;
    std::optional<Subprocess> process;
    ServiceState state;
  };

  void Start(Child& child);
  void RecordExit(Child& child, const std::string& how, absl::Duration ran_for);
  void WriteState() const;

  SupervisorOptions options_;
  const Clock* clock_;
  absl::Time started_at_;
  std::vector<Child> children_;
};

// Blocks SIGTERM, SIGINT, SIGHUP, SIGCHLD and SIGPIPE in the calling thread (and threads it
// creates later) so that the supervisor receives them with sigtimedwait. Children get a clear mask.
void BlockSupervisorSignals();

struct SuperviseOptions {
  std::filesystem::path edge_home;  // as NormalizeEdgeHome returns it
  std::filesystem::path bin_dir;    // where edge-<service> binaries are looked for
  std::string log_level = "info";
};

// The whole `edgectl supervise` command: takes the $EDGE_HOME's supervisor lock, reads the config
// for each service's listen address, writes run/supervisor.pid, runs the Supervisor until SIGTERM
// and removes the pidfile. Errors: ALREADY_EXISTS when another supervisor holds the lock;
// INVALID_ARGUMENT for a bad config or log level (naming the key); FAILED_PRECONDITION when no
// service binary is installed; INTERNAL for file-system failures.
absl::Status Supervise(const SuperviseOptions& options);

}  // namespace edge::cli

#endif  // EDGE_CLI_SUPERVISOR_H_
