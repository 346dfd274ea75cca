#include "services/agent/monitor/module_monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/edge_home.h"
#include "common/subprocess.h"
#include "nlohmann/json.hpp"
#include "services/agent/monitor/log_lines.h"

namespace edge::agent {
namespace {

constexpr absl::Duration kDrainAfterExit = absl::Seconds(1);

int64_t UnixMillis(absl::Time t) { return absl::ToUnixMillis(t); }

void Log(const std::string& line) {
  const std::string text = absl::StrCat("edge-module-monitor[", ::getpid(), "]: ", line, "\n");
  (void)!::write(STDERR_FILENO, text.data(), text.size());
}

bool WriteJson(const std::filesystem::path& path, const nlohmann::json& doc) {
  absl::Status written = WriteFileAtomically(path, doc.dump() + "\n", 0640);
  if (!written.ok()) Log(std::string(written.message()));
  return written.ok();
}

// Milliseconds poll() may wait until `deadline` (-1: no deadline).
int PollTimeout(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now()) + 1;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
}

}  // namespace

absl::StatusOr<MonitorOptions> MonitorOptions::Parse(const std::vector<std::string>& args) {
  MonitorOptions options;
  size_t i = 0;
  auto value = [&](const std::string& flag) -> absl::StatusOr<std::string> {
    if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat(flag, ": no value"));
    return args[++i];
  };
  auto number = [&](const std::string& flag, int64_t min) -> absl::StatusOr<int64_t> {
    absl::StatusOr<std::string> text = value(flag);
    if (!text.ok()) return text.status();
    int64_t n = 0;
    if (!absl::SimpleAtoi(*text, &n) || n < min) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": \"", *text, "\" is not a whole number >= ", min));
    }
    return n;
  };
  for (; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--") {
      options.argv.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (flag == "--state-dir") {
      absl::StatusOr<std::string> v = value(flag);
      if (!v.ok()) return v.status();
      options.state_dir = *v;
    } else if (flag == "--workdir") {
      absl::StatusOr<std::string> v = value(flag);
      if (!v.ok()) return v.status();
      options.working_dir = *v;
    } else if (flag == "--grace-seconds") {
      absl::StatusOr<int64_t> n = number(flag, 0);
      if (!n.ok()) return n.status();
      options.grace = absl::Seconds(*n);
    } else if (flag == "--log-max-bytes") {
      absl::StatusOr<int64_t> n = number(flag, 1024);
      if (!n.ok()) return n.status();
      options.log_max_bytes = *n;
    } else if (flag == "--log-files") {
      absl::StatusOr<int64_t> n = number(flag, 0);
      if (!n.ok()) return n.status();
      options.log_files = static_cast<int>(std::min<int64_t>(*n, 100));
    } else if (flag == "--memory-bytes") {
      absl::StatusOr<int64_t> n = number(flag, 0);
      if (!n.ok()) return n.status();
      options.memory_bytes = *n;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": unknown flag"));
    }
  }
  if (options.state_dir.empty()) return absl::InvalidArgumentError("--state-dir: missing");
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("--: the module's program and arguments are missing");
  }
  return options;
}

std::vector<std::string> MonitorOptions::ToArgs() const {
  std::vector<std::string> args = {"--state-dir", state_dir.string()};
  if (!working_dir.empty()) args.insert(args.end(), {"--workdir", working_dir.string()});
  args.insert(args.end(),
              {"--grace-seconds", absl::StrCat(absl::ToInt64Seconds(grace)), "--log-max-bytes",
               absl::StrCat(log_max_bytes), "--log-files", absl::StrCat(log_files)});
  if (memory_bytes > 0) args.insert(args.end(), {"--memory-bytes", absl::StrCat(memory_bytes)});
  args.push_back("--");
  args.insert(args.end(), argv.begin(), argv.end());
  return args;
}

RotatingLog::RotatingLog(std::filesystem::path dir, int64_t max_bytes, int keep)
    : dir_(std::move(dir)), max_bytes_(max_bytes), keep_(keep) {
  Open();
}

RotatingLog::~RotatingLog() {
  if (fd_ >= 0) ::close(fd_);
}

void RotatingLog::Open() {
  const std::filesystem::path path = dir_ / "output.log";
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) Log(absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  struct stat st = {};
  size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? st.st_size : 0;
}

void RotatingLog::Rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  const std::string base = (dir_ / "output.log").string();
  if (keep_ == 0) {
    ::unlink(base.c_str());
  } else {
    for (int n = keep_ - 1; n >= 1; --n) {
      ::rename(absl::StrCat(base, ".", n).c_str(), absl::StrCat(base, ".", n + 1).c_str());
    }
    ::rename(base.c_str(), absl::StrCat(base, ".1").c_str());
  }
  Open();
}

void RotatingLog::Write(const char* data, size_t size) {
  while (size > 0) {
    if (size_ >= max_bytes_) Rotate();
    if (fd_ < 0) return;
    // Fill this file up to its cap, then the rest goes to the next one.
    const size_t room = static_cast<size_t>(max_bytes_ - size_);
    const size_t chunk = std::min(size, room);
    const ssize_t n = ::write(fd_, data, chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    size_ += n;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

int ModuleMonitor::Run() {
  ::setsid();  // fails harmlessly when the runtime already made us a session leader
  if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {
    for (int fd = STDERR_FILENO + 1; fd < 1024; ++fd) ::close(fd);
  }
  if (absl::Status dir = EnsureDirectory(options_.state_dir, 0750); !dir.ok()) {
    Log(std::string(dir.message()));
    return 1;
  }
  std::filesystem::remove(options_.state_dir / "exit.json");

  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, s);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  const int signals = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  int pipe_fds[2];
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (signals < 0 || null_fd < 0 || ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    Log(absl::StrCat("cannot set up: ", std::strerror(errno)));
    return 1;
  }
  const std::filesystem::path workdir =
      options_.working_dir.empty() ? options_.state_dir : options_.working_dir;
  std::vector<char*> argv;
  for (const std::string& a : options_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  const pid_t child = ::fork();
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    if (options_.memory_bytes > 0) {
      const rlimit limit{static_cast<rlim_t>(options_.memory_bytes),
                         static_cast<rlim_t>(options_.memory_bytes)};
      ::setrlimit(RLIMIT_AS, &limit);
    }
    if (::chdir(workdir.c_str()) != 0) {
      std::fprintf(stderr, "cannot change to %s: %s\n", workdir.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(null_fd);
  if (child < 0) {
    Log(absl::StrCat("fork: ", std::strerror(errno)));
    return 1;
  }
  ::setpgid(child, child);  // also here, so a signal sent right away reaches the group
  const absl::Time started = absl::Now();
  WriteJson(
      options_.state_dir / "running.json",
      {{"monitor_pid", ::getpid()}, {"pid", child}, {"started_unix_ms", UnixMillis(started)}});
  Log(absl::StrCat("started ", options_.argv[0], " as pid ", child));

  RotatingLog log(options_.state_dir, options_.log_max_bytes, options_.log_files);
  bool exited = false, pipe_open = true, stopping = false;
  int wait_status = 0;
  absl::Time kill_at = absl::InfiniteFuture();
  absl::Time drain_until = absl::InfiniteFuture();
  std::vector<char> buffer(64 * 1024);
  bool at_line_start = true;
  while (!exited || (pipe_open && absl::Now() < drain_until)) {
    pollfd fds[2] = {{signals, POLLIN, 0}, {pipe_open ? pipe_fds[0] : -1, POLLIN, 0}};
    ::poll(fds, 2, PollTimeout(std::min(kill_at, drain_until)));
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
      if (n > 0) {
        const std::string stamped = StampLines(
            absl::string_view(buffer.data(), static_cast<size_t>(n)), absl::Now(), &at_line_start);
        log.Write(stamped.data(), stamped.size());
      } else if (n == 0 || errno != EINTR) {
        pipe_open = false;
      }
    }
    signalfd_siginfo info;
    while (::read(signals, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo != SIGCHLD && !stopping && !exited) {
        stopping = true;
        Log(absl::StrCat("stopping pid ", child, ": SIGTERM, SIGKILL after ",
                         absl::FormatDuration(options_.grace)));
        ::kill(-child, SIGTERM);
        kill_at = absl::Now() + options_.grace;
      }
    }
    if (!exited && ::waitpid(child, &wait_status, WNOHANG) == child) {
      exited = true;
      ::kill(-child, SIGKILL);  // what the module left behind in its group ends with it
      kill_at = absl::InfiniteFuture();
      drain_until = absl::Now() + kDrainAfterExit;
    }
    if (!exited && absl::Now() >= kill_at) {
      Log(absl::StrCat("pid ", child, " did not stop within the grace period: SIGKILL"));
      ::kill(-child, SIGKILL);
      kill_at = absl::InfiniteFuture();
    }
  }
  const int signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
  const int exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + signal;
  const std::string description = DescribeWaitStatus(wait_status);
  WriteJson(options_.state_dir / "exit.json", {{"exit_code", exit_code},
                                               {"signal", signal},
                                               {"finished_unix_ms", UnixMillis(absl::Now())},
                                               {"description", description}});
  Log(absl::StrCat("pid ", child, " ", description));
  return 0;
}

}  // namespace edge::agent
