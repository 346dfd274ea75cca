#include "common/procfs.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace edge {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);
constexpr absl::Duration kAfterKill = absl::Seconds(5);

std::filesystem::path ProcPath(pid_t pid, absl::string_view entry) {
  return std::filesystem::path(absl::StrCat("/proc/", pid, "/", entry));
}

// The state letter from /proc/<pid>/stat ('R', 'S', 'Z', ...), or 0 when the process is gone.
char ProcessState(pid_t pid) {
  std::ifstream in(ProcPath(pid, "stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name is in parentheses and may itself contain ") ", so look for the last one.
  size_t close = stat.rfind(") ");
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::vector<pid_t> FindProcesses(
    const std::function<bool(const std::vector<std::string>& args)>& match) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid) || pid == ::getpid()) continue;
    const std::vector<std::string> args = ProcessArgs(pid);
    if (!args.empty() && ProcessAlive(pid) && match(args)) found.push_back(pid);
  }
  return found;
}

absl::StatusOr<std::filesystem::path> SelfExecutable() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot read /proc/self/exe: ", ec.message()));
  return self;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  // Reaps it if it is our exited child; fails harmlessly (ECHILD) for anyone else's.
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
  char state = ProcessState(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

std::vector<std::string> ProcessArgs(pid_t pid) {
  std::ifstream in(ProcPath(pid, "cmdline"), std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string current;
  for (char c : raw) {
    if (c == '\0') {
      args.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) args.push_back(std::move(current));
  return args;
}

bool IsRuntimeProcess(pid_t pid, absl::string_view program,
                      const std::filesystem::path& edge_home) {
  if (!ProcessAlive(pid)) return false;
  std::vector<std::string> args = ProcessArgs(pid);
  if (args.empty()) return false;
  std::error_code ec;
  std::string exe = std::filesystem::read_symlink(ProcPath(pid, "exe"), ec).string();
  // A binary replaced by a rebuild while running shows as "/path (deleted)".
  if (absl::EndsWith(exe, " (deleted)")) exe.resize(exe.size() - 10);
  if (Basename(exe) != program && Basename(args[0]) != program) return false;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--edge-home" && args[i + 1] == edge_home.string()) return true;
  }
  for (const std::string& arg : args) {
    if (arg == absl::StrCat("--edge-home=", edge_home.string())) return true;
  }
  return false;
}

bool WaitForProcessExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (ProcessAlive(pid)) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPollInterval);
  }
  return true;
}

StopOutcome TerminateProcess(pid_t pid, absl::Duration grace) {
  if (!ProcessAlive(pid)) return StopOutcome::kAlreadyGone;
  if (::kill(pid, SIGTERM) != 0 && errno == ESRCH) return StopOutcome::kAlreadyGone;
  if (WaitForProcessExit(pid, grace)) return StopOutcome::kTerminated;
  ::kill(pid, SIGKILL);
  return WaitForProcessExit(pid, kAfterKill) ? StopOutcome::kKilled : StopOutcome::kStuck;
}

const char* DescribeStopOutcome(StopOutcome outcome) {
  switch (outcome) {
    case StopOutcome::kAlreadyGone:
      return "already gone";
    case StopOutcome::kTerminated:
      return "terminated";
    case StopOutcome::kKilled:
      return "killed (it did not stop within the grace period)";
    case StopOutcome::kStuck:
      return "still present after SIGKILL";
  }
  return "unknown";
}

std::filesystem::path NormalizeEdgeHome(const std::filesystem::path& home) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(home, ec);
  if (ec) canonical = home.lexically_normal();
  std::string text = canonical.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return std::filesystem::path(text);
}

}  // namespace edge
