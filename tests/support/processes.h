// The processes a test started, seen through /proc: whether one is gone, and which are still alive
// whose command line names a path (a test's EDGE_HOME), so that "nothing is left running" is
// checked exactly.
//
// Example:
//   ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // orphans become ours, and are reaped by ProcessGone
//   ...
//   EXPECT_THAT(ProcessesNaming(home.string()), IsEmpty());
#ifndef EDGE_TESTS_SUPPORT_PROCESSES_H_
#define EDGE_TESTS_SUPPORT_PROCESSES_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace edge::testing {

// True when `pid` no longer exists or is a zombie. Reaps it if it is our child (a test that is a
// child subreaper also reaps the orphans of the processes it started).
bool ProcessGone(pid_t pid);

// Waits up to `timeout` for ProcessGone(pid).
bool WaitUntilGone(pid_t pid, absl::Duration timeout);

// Live processes other than this one whose command line contains `text`; empty for an empty
// `text` (it would match every process). /proc changes while it is listed: a listing that hits
// an error is taken again.
std::vector<pid_t> ProcessesNaming(const std::string& text);

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_PROCESSES_H_
