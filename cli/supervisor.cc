#include "cli/supervisor.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/service_binaries.h"
#include "common/config.h"
#include "common/edge_home.h"
#include "common/logging.h"
#include "common/procfs.h"
#include "common/service_runner.h"
#include "common/status_macros.h"

namespace edge::cli {
namespace {

// SIGCHLD wakes the loop the moment a child exits; this is only a safety net.
constexpr absl::Duration kMaxIdleWait = absl::Seconds(5);

sigset_t SupervisorSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&signals, signal);
  return signals;
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options, const Clock* clock)
    : options_(std::move(options)), clock_(clock), started_at_(clock->Now()) {
  for (const SupervisedService& spec : options_.services) {
    Child child{spec, RestartBackoff(options_.backoff), std::nullopt, ServiceState{}};
    child.state.name = spec.name;
    child.state.binary = spec.argv.empty() ? "" : spec.argv[0];
    child.state.listen = spec.listen;
    children_.push_back(std::move(child));
  }
}

void Supervisor::StartAll() {
  for (Child& child : children_) Start(child);
  WriteState();
}

void Supervisor::Start(Child& child) {
  absl::StatusOr<Subprocess> process =
      Subprocess::Start({.argv = child.spec.argv, .log_file = child.spec.log_file});
  if (!process.ok()) {
    RecordExit(child, absl::StrCat("could not start: ", process.status().message()),
               absl::ZeroDuration());
    return;
  }
  child.process = *std::move(process);
  child.state.state = RunState::kRunning;
  child.state.pid = child.process->pid();
  child.state.started_at = clock_->Now();
  child.state.next_start_at = absl::InfinitePast();
  if (!child.spec.pid_file.empty()) {
    if (absl::Status s = WritePidFile(child.spec.pid_file, child.state.pid); !s.ok()) {
      // Only `edgectl down`'s fallback needs the pidfile; the service itself is fine.
      spdlog::warn("{}: {}", child.spec.name, s.ToString());
    }
  }
  if (child.state.restarts == 0) {
    spdlog::info("started {} (pid {}): {}", child.spec.name, child.state.pid, child.state.binary);
  } else {
    spdlog::info("restarted {} (pid {}, restart #{})", child.spec.name, child.state.pid,
                 child.state.restarts);
  }
}

void Supervisor::RecordExit(Child& child, const std::string& how, absl::Duration ran_for) {
  const absl::Duration delay = child.backoff.NextDelay(ran_for);
  const absl::Time now = clock_->Now();
  spdlog::warn("{} (pid {}) {} after running {}; restarting in {} ({} exit(s) in a row)",
               child.spec.name, child.state.pid, how, absl::FormatDuration(ran_for),
               absl::FormatDuration(delay), child.backoff.consecutive_exits());
  if (!child.spec.pid_file.empty()) RemoveFileIfPresent(child.spec.pid_file);
  child.state.state = RunState::kRestarting;
  child.state.pid = 0;
  child.state.last_exit = how;
  child.state.last_exit_at = now;
  child.state.next_start_at = now + delay;
}

absl::Time Supervisor::Reconcile() {
  bool changed = false;
  for (Child& child : children_) {
    if (!child.process.has_value()) continue;
    std::optional<int> wait_status = child.process->Poll();
    if (!wait_status.has_value()) continue;
    child.process.reset();
    RecordExit(child, DescribeWaitStatus(*wait_status), clock_->Now() - child.state.started_at);
    changed = true;
  }
  const absl::Time now = clock_->Now();
  absl::Time next = absl::InfiniteFuture();
  for (Child& child : children_) {
    if (child.state.state != RunState::kRestarting) continue;
    if (now >= child.state.next_start_at) {
      ++child.state.restarts;
      Start(child);
      changed = true;
    }
    // Start may have failed and rescheduled it.
    if (child.state.state == RunState::kRestarting) {
      next = std::min(next, child.state.next_start_at);
    }
  }
  if (changed) WriteState();
  return next;
}

void Supervisor::StopAll() {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    Child& child = *it;
    if (child.process.has_value()) {
      spdlog::info("stopping {} (pid {})", child.spec.name, child.state.pid);
      const absl::Time begin = clock_->Now();
      const int wait_status = child.process->Stop(options_.stop_grace);
      const bool killed = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL;
      if (killed) {
        spdlog::warn("{} did not stop within {} of SIGTERM; {}", child.spec.name,
                     absl::FormatDuration(options_.stop_grace), DescribeWaitStatus(wait_status));
      } else {
        spdlog::info("{} {} after {}", child.spec.name, DescribeWaitStatus(wait_status),
                     absl::FormatDuration(clock_->Now() - begin));
      }
      child.process.reset();
    }
    if (!child.spec.pid_file.empty()) RemoveFileIfPresent(child.spec.pid_file);
    child.state.state = RunState::kStopped;
    child.state.pid = 0;
    child.state.next_start_at = absl::InfinitePast();
  }
  WriteState();
}

void Supervisor::Run() {
  BlockSupervisorSignals();
  const sigset_t signals = SupervisorSignals();
  StartAll();
  while (true) {
    const absl::Time next = Reconcile();
    absl::Duration wait = std::min(next - clock_->Now(), kMaxIdleWait);
    if (wait <= absl::ZeroDuration()) continue;
    // Round up: waking a hair early would only find the restart not yet due and wait again.
    const timespec timeout = absl::ToTimespec(wait + absl::Milliseconds(1));
    const int signal = ::sigtimedwait(&signals, nullptr, &timeout);
    if (signal == SIGTERM || signal == SIGINT) {
      spdlog::info("received {}; stopping services", ::strsignal(signal));
      break;
    }
    if (signal == SIGHUP) spdlog::info("ignoring SIGHUP");
    // SIGCHLD, a timeout (EAGAIN) or EINTR: Reconcile looks at every child either way.
  }
  StopAll();
}

SupervisorState Supervisor::State() const {
  SupervisorState state;
  state.supervisor_pid = ::getpid();
  state.started_at = started_at_;
  state.updated_at = clock_->Now();
  for (const Child& child : children_) state.services.push_back(child.state);
  state.not_installed = options_.not_installed;
  return state;
}

void Supervisor::WriteState() const {
  if (options_.state_file.empty()) return;
  if (absl::Status s = WriteStateFile(options_.state_file, State()); !s.ok()) {
    // `edgectl status` will show stale data, but the services themselves are unaffected.
    spdlog::warn("cannot write the state file: {}", s.ToString());
  }
}

void BlockSupervisorSignals() {
  sigset_t signals = SupervisorSignals();
  sigaddset(&signals, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

absl::Status Supervise(const SuperviseOptions& options) {
  BlockSupervisorSignals();
  RETURN_IF_ERROR(InitLogging("supervisor", options.log_level));
  const std::filesystem::path& home = options.edge_home;
  RETURN_IF_ERROR(EnsureDirectory(RunDir(home), 0750));
  RETURN_IF_ERROR(EnsureDirectory(LogDir(home), 0750));
  // Held for the supervisor's whole life: a second supervisor for the same home fails here instead
  // of starting a second copy of every service.
  ASSIGN_OR_RETURN(SupervisorLock lock, SupervisorLock::Acquire(SupervisorLockFile(home)));

  absl::StatusOr<Config> config = Config::LoadFile(ConfigPath(home));
  if (absl::IsNotFound(config.status())) config = Config::Parse("");
  if (!config.ok()) return config.status();

  SupervisorOptions supervisor_options;
  supervisor_options.state_file = StateFile(home);
  for (const ServiceBinary& binary : FindServiceBinaries(options.bin_dir)) {
    if (!binary.installed) {
      spdlog::info("{}: not installed (no {}); skipping", binary.name, binary.path.string());
      supervisor_options.not_installed.push_back(binary.name);
      continue;
    }
    ASSIGN_OR_RETURN(ListenAddress listen, ServiceListenAddress(*config, home, binary.name));
    supervisor_options.services.push_back({
        .name = binary.name,
        .argv = {binary.path.string(), "--edge-home", home.string()},
        .log_file = ServiceLogFile(home, binary.name),
        .pid_file = ServicePidFile(home, binary.name),
        .listen = listen.grpc_target,
    });
  }
  if (supervisor_options.services.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no service binaries (edge-store, ...) in ", options.bin_dir.string()));
  }

  RETURN_IF_ERROR(WritePidFile(SupervisorPidFile(home), ::getpid()));
  spdlog::info("supervisor (pid {}) started for {}", ::getpid(), home.string());
  Supervisor supervisor(std::move(supervisor_options), SystemClock::Get());
  supervisor.Run();
  RemoveFileIfPresent(SupervisorPidFile(home));
  spdlog::info("supervisor stopped");
  return absl::OkStatus();
}

}  // namespace edge::cli
