// Looks at processes through /proc: the ones edgectl did not start itself (the supervisor, services
// left behind by a supervisor that died), the agent's module monitors; and stops them safely.
//
// A pid read from a pidfile may have been reused by an unrelated process, so nothing is signalled
// unless IsRuntimeProcess confirms it is our program serving the same $EDGE_HOME.
//
// Example:
//   if (IsRuntimeProcess(pid, "edge-store", home)) TerminateProcess(pid, absl::Seconds(10));
#ifndef EDGE_COMMON_PROCFS_H_
#define EDGE_COMMON_PROCFS_H_

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edge {

// The path of the running executable (/proc/self/exe resolved); programs installed next to it are
// found through it. INTERNAL when unreadable.
absl::StatusOr<std::filesystem::path> SelfExecutable();

// True while `pid` exists and is not a zombie. A zombie that is our own child is reaped on the
// way, so callers that started a process need no separate waitpid.
bool ProcessAlive(pid_t pid);

// The process's argv, empty when it is gone or unreadable.
std::vector<std::string> ProcessArgs(pid_t pid);

// True when `pid` is alive, its executable (or argv[0]) is named `program` ("edgectl",
// "edge-store", ...) and its arguments contain `--edge-home <edge_home>`. `edge_home` must be in
// the form NormalizeEdgeHome returns; so must be the one the process was started with.
bool IsRuntimeProcess(pid_t pid, absl::string_view program, const std::filesystem::path& edge_home);

// The live processes whose arguments satisfy `match` (this process excluded), read from /proc.
std::vector<pid_t> FindProcesses(
    const std::function<bool(const std::vector<std::string>& args)>& match);

// Polls until `pid` is gone; false when it is still alive after `timeout`.
bool WaitForProcessExit(pid_t pid, absl::Duration timeout);

enum class StopOutcome {
  kAlreadyGone,  // nothing to do
  kTerminated,   // exited within the grace period after SIGTERM
  kKilled,       // needed SIGKILL
  kStuck,        // still present after SIGKILL (e.g. in uninterruptible sleep)
};

// SIGTERM, up to `grace` to exit, then SIGKILL. Only for a pid IsRuntimeProcess vouched for.
StopOutcome TerminateProcess(pid_t pid, absl::Duration grace);

// "terminated", "killed (did not stop within the grace period)", ...
const char* DescribeStopOutcome(StopOutcome outcome);

// The canonical spelling of a home directory (symlinks resolved, no trailing slash), so that
// `--edge-home /tmp/x/` and `--edge-home /tmp/x` name the same runtime.
std::filesystem::path NormalizeEdgeHome(const std::filesystem::path& home);

}  // namespace edge

#endif  // EDGE_COMMON_PROCFS_H_
