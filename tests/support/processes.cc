#include "tests/support/processes.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/run_to_exit.h"

namespace edge::testing {

bool ProcessGone(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t close = stat.rfind(") ");
  return close == std::string::npos || stat[close + 2] == 'Z';
}

bool WaitUntilGone(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!ProcessGone(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

std::vector<pid_t> ProcessesNaming(const std::string& text) {
  if (text.empty()) return {};
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
      const std::string cmdline = ReadFile(it->path() / "cmdline");
      if (pid > 1 && pid != ::getpid() && cmdline.find(text) != std::string::npos &&
          !ProcessGone(pid)) {
        pids.push_back(pid);
      }
    }
    if (!ec) return pids;
  }
  return {};
}

}  // namespace edge::testing
