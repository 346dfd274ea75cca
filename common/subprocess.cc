#include "common/subprocess.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace edge {

namespace {

// Moves `fd` to 3 or above, so that the child's dup2 onto 0-2 cannot clobber it.
int AboveStdio(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  ::close(fd);
  return moved;
}

}  // namespace

absl::StatusOr<Subprocess> Subprocess::Start(const SubprocessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no program to run");
  int log_fd = -1;
  int null_fd = -1;
  if (!options.log_file.empty()) {
    log_fd = AboveStdio(
        ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (log_fd < 0) {
      return absl::InternalError(
          absl::StrCat("cannot open ", options.log_file.string(), ": ", std::strerror(errno)));
    }
    null_fd = AboveStdio(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; options.inherit_env && *e != nullptr; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& [key, value] : options.env) {
      overridden = overridden || entry.compare(0, key.size() + 1, key + "=") == 0;
    }
    if (!overridden) env_storage.push_back(std::move(entry));
  }
  for (const auto& [key, value] : options.env) env_storage.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const char* working_directory =
      options.working_directory.empty() ? nullptr : options.working_directory.c_str();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.new_session) ::setsid();
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    }
    // Nothing else leaks into the child (a pipe kept open by a daemon would hang its reader).
    if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {
      for (int fd = STDERR_FILENO + 1; fd < 1024; ++fd) ::close(fd);  // kernels before 5.9
    }
    if (working_directory != nullptr && ::chdir(working_directory) != 0) ::_exit(127);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  if (log_fd >= 0) ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  return Subprocess(pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), wait_status_(std::exchange(other.wait_status_, {})) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (running()) Stop(absl::ZeroDuration());
    pid_ = std::exchange(other.pid_, -1);
    wait_status_ = std::exchange(other.wait_status_, {});
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (running()) Stop(absl::ZeroDuration());
}

std::optional<int> Subprocess::Poll() {
  if (pid_ <= 0 || wait_status_.has_value()) return wait_status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) wait_status_ = status;
  return wait_status_;
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<int> status = Poll()) return *status;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running"));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void Subprocess::Signal(int signal) {
  if (running()) ::kill(pid_, signal);
}

int Subprocess::Stop(absl::Duration grace) {
  if (!running()) return wait_status_.value_or(0);
  if (grace > absl::ZeroDuration()) {
    Signal(SIGTERM);
    if (absl::StatusOr<int> status = Wait(grace); status.ok()) return *status;
  }
  Signal(SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status_ = status;
  return status;
}

pid_t Subprocess::Release() {
  wait_status_.reset();
  return std::exchange(pid_, -1);
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int signal = WTERMSIG(wait_status);
    const char* name = ::sigabbrev_np(signal);
    return absl::StrCat(
        "killed by ", name != nullptr ? absl::StrCat("SIG", name) : absl::StrCat("signal ", signal),
        WCOREDUMP(wait_status) ? " (core dumped)" : "");
  }
  return absl::StrCat("wait status ", wait_status);
}

}  // namespace edge
